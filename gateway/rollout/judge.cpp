#include "gateway/rollout/judge.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/normal.hpp>

namespace slipway::rollout {

const char* to_string(Direction d) {
  switch (d) {
    case Direction::higher_is_worse: return "higher_is_worse";
    case Direction::lower_is_worse: return "lower_is_worse";
    case Direction::either: return "either";
  }
  return "?";
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::fired: return "fired";
    case Verdict::min_sample: return "min_sample";
    case Verdict::within_tolerance: return "within_tolerance";
    case Verdict::not_significant: return "not_significant";
  }
  return "?";
}

namespace {

// Double precision throughout (the default policy promotes to long double, which is slow and not needed).
using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
const boost::math::normal_distribution<double, Policy> kStdNormal(0.0, 1.0);

// log Phi(z) without underflow for very negative z.
double log_phi(double z) {
  if (z > -30.0) return std::log(boost::math::cdf(kStdNormal, z));
  // Mills ratio asymptotics: Phi(z) ~ phi(z) / |z| (1 - 1/z^2)
  return -0.5 * z * z - std::log(-z) - 0.5 * std::log(2.0 * M_PI) + std::log1p(-1.0 / (z * z));
}

// A shrunk proportion for the variance so that 0 or n failures don't give a zero variance.
double var_share(uint64_t events, uint64_t n) {
  const double p = (static_cast<double>(events) + 0.5) / (static_cast<double>(n) + 1.0);
  return p * (1.0 - p) / static_cast<double>(n);
}

struct Side {
  double excess, var, log_lr;
};

// Excess over the tolerated boundary for one direction.
Side one_side(double pc, double pb, uint64_t xc, uint64_t nc, uint64_t xb, uint64_t nb, double tol_abs,
              double tol_rel, double tau, bool higher_is_worse) {
  Side s{};
  const double vc = var_share(xc, nc), vb = var_share(xb, nb);
  if (higher_is_worse) {
    const double k = 1.0 + tol_rel;
    s.excess = pc - k * pb - tol_abs;
    s.var = vc + k * k * vb;
  } else {
    const double k = std::max(0.0, 1.0 - tol_rel);
    s.excess = k * pb - tol_abs - pc;
    s.var = vc + k * k * vb;
  }
  s.log_lr = msprt_log_lr(s.excess, s.var, tau);
  return s;
}

}  // namespace

double msprt_log_lr(double excess, double var, double tau) {
  if (!(var > 0) || !(tau > 0)) return 0.0;
  const double t2 = tau * tau;
  const double vt = var + t2;
  return std::log(2.0) + 0.5 * std::log(var / vt) + t2 * excess * excess / (2.0 * var * vt) +
         log_phi(excess * tau / std::sqrt(var * vt));
}

Evaluation rate_test(RateCount canary, RateCount baseline, const RateTestParams& p) {
  Evaluation e;
  e.threshold = p.alpha;
  e.direction = p.direction;
  e.canary_n = canary.trials;
  e.baseline_n = baseline.trials;
  e.canary_events = canary.failures;
  e.baseline_events = baseline.failures;
  e.canary_rate = canary.trials ? static_cast<double>(canary.failures) / canary.trials : 0.0;
  e.baseline_rate = baseline.trials ? static_cast<double>(baseline.failures) / baseline.trials : 0.0;
  if (canary.trials < std::max<uint64_t>(1, p.min_samples) ||
      baseline.trials < std::max<uint64_t>(1, p.min_samples)) {
    e.verdict = Verdict::min_sample;
    return e;
  }
  auto run = [&](bool higher, double alpha) {
    const Side s = one_side(e.canary_rate, e.baseline_rate, canary.failures, canary.trials,
                            baseline.failures, baseline.trials, p.tolerance_abs, p.tolerance_rel, p.mixing_sd,
                            higher);
    Evaluation r = e;
    r.direction = higher ? Direction::higher_is_worse : Direction::lower_is_worse;
    r.threshold = alpha;
    r.excess = s.excess;
    r.statistic = s.excess / std::sqrt(s.var);
    r.p_value = std::min(1.0, std::exp(-s.log_lr));
    if (r.p_value < alpha)
      r.verdict = Verdict::fired;
    else
      r.verdict = s.excess <= 0 ? Verdict::within_tolerance : Verdict::not_significant;
    return r;
  };
  if (p.direction != Direction::either) return run(p.direction == Direction::higher_is_worse, p.alpha);
  Evaluation hi = run(true, p.alpha / 2), lo = run(false, p.alpha / 2);
  if (hi.fired()) return hi;
  if (lo.fired()) return lo;
  Evaluation& best = hi.p_value <= lo.p_value ? hi : lo;
  if (hi.verdict == Verdict::within_tolerance && lo.verdict == Verdict::within_tolerance)
    best.verdict = Verdict::within_tolerance;
  return best;
}

double histogram_quantile(const Histogram& h, double q) {
  uint64_t total = 0;
  for (auto c : h) total += c;
  if (total == 0) return 0.0;
  const double target = q * static_cast<double>(total);
  double cum = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] == 0) continue;
    const double next = cum + static_cast<double>(h[i]);
    if (next >= target) {
      const double lo = LatencyBins::lower_edge(i), hi = LatencyBins::upper_edge(i);
      if (i == 0) return hi * (target - cum) / static_cast<double>(h[i]);
      if (!std::isfinite(hi)) return lo;
      const double f = std::clamp((target - cum) / static_cast<double>(h[i]), 0.0, 1.0);
      return lo * std::pow(hi / lo, f);
    }
    cum = next;
  }
  return LatencyBins::lower_edge(h.size() - 1);
}

Evaluation latency_test(const Histogram& canary, const Histogram& baseline, const LatencyTestParams& p) {
  uint64_t nc = 0, nb = 0;
  for (auto c : canary) nc += c;
  for (auto c : baseline) nb += c;
  Evaluation e;
  e.threshold = p.alpha;
  e.canary_n = nc;
  e.baseline_n = nb;
  e.canary_value = histogram_quantile(canary, p.quantile);
  e.baseline_value = histogram_quantile(baseline, p.quantile);
  if (nc < std::max<uint64_t>(1, p.min_samples) || nb < std::max<uint64_t>(1, p.min_samples)) {
    e.verdict = Verdict::min_sample;
    return e;
  }
  // The baseline's quantile bin k: the first bin where the cumulative share reaches q.
  const double target = p.quantile * static_cast<double>(nb);
  std::size_t k = 0;
  double cum = 0;
  for (; k < baseline.size(); ++k) {
    cum += static_cast<double>(baseline[k]);
    if (cum >= target) break;
  }
  if (k + 1 >= baseline.size()) {  // the quantile sits in the overflow bin: nothing to compare
    e.verdict = Verdict::within_tolerance;
    return e;
  }
  const double x = LatencyBins::upper_edge(k);
  uint64_t xb = 0;
  for (std::size_t i = k + 1; i < baseline.size(); ++i) xb += baseline[i];
  // The canary threshold: the first bin edge at or above (1 + tol) x (a tiny slack for rounding).
  const double tx = x * (1.0 + p.tolerance_rel) * (1.0 - 1e-12);
  std::size_t j = k + 1;
  while (j < canary.size() && LatencyBins::lower_edge(j) < tx) ++j;
  uint64_t xc = 0;
  for (std::size_t i = j; i < canary.size(); ++i) xc += canary[i];
  RateTestParams rp;
  rp.mixing_sd = p.mixing_sd;
  rp.alpha = p.alpha;
  rp.min_samples = p.min_samples;
  Evaluation r = rate_test(RateCount{nc, xc}, RateCount{nb, xb}, rp);
  r.canary_value = e.canary_value;
  r.baseline_value = e.baseline_value;
  return r;
}

}  // namespace slipway::rollout
