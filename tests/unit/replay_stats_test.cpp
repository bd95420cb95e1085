// Statistics of slipway-replay (tools/replay/stats.cpp) against published values.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "tools/replay/stats.hpp"

using namespace slipway::replay;

TEST_CASE("two_sided_z is the normal quantile of the confidence", "[replay][stats]") {
  CHECK(two_sided_z(0.95) == Approx(1.959963985).epsilon(1e-9));
  CHECK(two_sided_z(0.90) == Approx(1.644853627).epsilon(1e-9));
  CHECK(two_sided_z(0.99) == Approx(2.575829304).epsilon(1e-9));
  CHECK_THROWS_AS(two_sided_z(1.0), std::invalid_argument);
  CHECK_THROWS_AS(two_sided_z(0.0), std::invalid_argument);
}

TEST_CASE("Wilson interval: Newcombe (1998) values", "[replay][stats]") {
  // 0/10: [0, 0.2775] (Newcombe 1998, Statistics in Medicine 17:857, and his table of differences).
  Interval w = wilson_interval(0, 10, 0.95);
  CHECK(w.lower == 0.0);
  CHECK(w.upper == Approx(0.2775).margin(5e-5));
  // 10/10 mirrors it.
  w = wilson_interval(10, 10, 0.95);
  CHECK(w.lower == Approx(0.7225).margin(5e-5));
  CHECK(w.upper == 1.0);
  // 81/263: [0.2553, 0.3662].
  w = wilson_interval(81, 263, 0.95);
  CHECK(w.lower == Approx(0.2553).margin(5e-5));
  CHECK(w.upper == Approx(0.3662).margin(5e-5));
  // No data: the whole range.
  w = wilson_interval(0, 0, 0.95);
  CHECK(w.lower == 0.0);
  CHECK(w.upper == 1.0);
}

TEST_CASE("Newcombe hybrid score interval, independent samples: published values", "[replay][stats]") {
  // Newcombe (1998a) Table II example (a), 56/70 - 48/80, method 10: 0.0524 to 0.3339.
  Interval d = newcombe_independent(48, 80, 56, 70, 0.95);
  CHECK(d.lower == Approx(0.0524).margin(5e-5));
  CHECK(d.upper == Approx(0.3339).margin(5e-5));
  // Perondi et al. (2004) as in Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables",
  // chapter 4: 7/34 - 1/34, estimate 0.1765, 95% CI 0.0189 to 0.3404.
  d = newcombe_independent(1, 34, 7, 34, 0.95);
  CHECK(d.lower == Approx(0.0189).margin(5e-5));
  CHECK(d.upper == Approx(0.3404).margin(5e-5));
  // The difference is candidate - baseline: swapping the sides mirrors the interval.
  Interval m = newcombe_independent(7, 34, 1, 34, 0.95);
  CHECK(m.lower == Approx(-d.upper).margin(1e-12));
  CHECK(m.upper == Approx(-d.lower).margin(1e-12));
  // Newcombe (1998a) example (h), 10/10 - 0/10: 0.6075 to 1.
  d = newcombe_independent(0, 10, 10, 10, 0.95);
  CHECK(d.lower == Approx(0.6075).margin(5e-5));
  CHECK(d.upper == 1.0);
}

TEST_CASE("Newcombe interval, paired samples: published value", "[replay][stats]") {
  // Cavo et al. (2012) as in Fagerland, Lydersen & Laake chapter 8 (Newcombe square-and-add, paired):
  // table [[59, 6], [16, 80]], first classification - second = -0.0621, 95% CI -0.1186 to -0.0046.
  // Here the first classification is the candidate: both 59, candidate only 6, baseline only 16, neither 80.
  PairedCounts c;
  c.both = 59;
  c.candidate_only = 6;
  c.baseline_only = 16;
  c.neither = 80;
  CHECK(c.n() == 161);
  CHECK(c.difference() == Approx(-0.0621).margin(5e-5));
  Interval d = newcombe_paired(c, 0.95);
  CHECK(d.lower == Approx(-0.1186).margin(5e-5));
  CHECK(d.upper == Approx(-0.0046).margin(5e-5));
  CHECK(c.flips() == 22);
}

TEST_CASE("paired interval: identical sides give a small interval around 0", "[replay][stats]") {
  // 40 cases, both sides pass the same 36: no flip, difference 0, and the interval excludes large drops
  // because the two sides are perfectly correlated.
  PairedCounts same;
  same.both = 36;
  same.neither = 4;
  Interval d = newcombe_paired(same, 0.95);
  CHECK(same.difference() == 0.0);
  CHECK(d.lower < 0.0);
  CHECK(d.upper > 0.0);
  Interval independent = newcombe_independent(36, 40, 36, 40, 0.95);
  CHECK(d.upper - d.lower < independent.upper - independent.lower);
  // Every case passing on both sides: phi is 0 (empty margins) and the interval is +-(1 - Wilson lower bound
  // of 20/20) = +-0.1611, as Newcombe's 0/n - 0/n examples are +-(Wilson upper bound of 0/n).
  PairedCounts all_pass;
  all_pass.both = 20;
  d = newcombe_paired(all_pass, 0.95);
  CHECK(d.upper == Approx(1.0 - wilson_interval(20, 20, 0.95).lower).margin(1e-12));
  CHECK(d.upper == Approx(0.1611).margin(5e-5));
  CHECK(d.lower == Approx(-d.upper).margin(1e-12));
}

TEST_CASE("paired interval: a real drop is significant, a lone flip is not", "[replay][stats]") {
  PairedCounts drop;  // 20 cases: baseline passes all, candidate loses 9
  drop.both = 11;
  drop.baseline_only = 9;
  Interval d = newcombe_paired(drop, 0.95);
  CHECK(drop.difference() == Approx(-0.45));
  CHECK(d.upper < 0.0);
  CHECK(d.lower > -1.0);
  PairedCounts one;  // 20 cases, a single case lost
  one.both = 19;
  one.baseline_only = 1;
  d = newcombe_paired(one, 0.95);
  CHECK(d.upper > 0.0);
  CHECK(newcombe_paired(PairedCounts{}, 0.95).lower == -1.0);
}

TEST_CASE("quantile interpolates between order statistics (type 7)", "[replay][stats]") {
  CHECK(quantile({}, 0.5) == 0.0);
  CHECK(quantile({7}, 0.9) == 7.0);
  CHECK(quantile({1, 2, 3, 4}, 0.5) == Approx(2.5));
  CHECK(quantile({10, 1, 5}, 0.5) == Approx(5.0));
  // numpy.percentile([1..10], 90) = 9.1
  CHECK(quantile({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.9) == Approx(9.1));
  CHECK(quantile({1, 2, 3}, 1.0) == Approx(3.0));
  CHECK(quantile({1, 2, 3}, 0.0) == Approx(1.0));
}
