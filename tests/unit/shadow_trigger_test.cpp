// The shadow_disagreement rate SLI in the rollout controller: only the canary's side is fed (one trial per
// compared shadow); the controller judges it against a zero-rate reference with the same n, so the trigger
// asks "is the disagreement rate above tolerance_abs?" (gateway/rollout/controller.cpp, run()).
#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "gateway/rollout/controller.hpp"

using namespace slipway::rollout;
using namespace std::chrono_literals;

namespace {
const Clock::time_point T0{std::chrono::hours(1000)};

ControllerConfig shadow_config(double tolerance_abs) {
  ControllerConfig c;
  c.revision = "r1";
  c.window = WindowConfig{5s, 60};
  c.slices = {"tools"};
  TriggerSpec t;
  t.name = "shadow";
  t.rate_sli = RateSli::shadow_disagreement;
  t.slice = "tools";
  t.window = 1min;
  t.min_samples = 50;
  t.tolerance_abs = tolerance_abs;
  t.alpha = 0.001;
  c.triggers = {t};
  return c;
}

Observation shadow(bool disagreed) { return Observation{}.set(RateSli::shadow_disagreement, disagreed); }

void feed(Controller& c, int n, int disagreements, Clock::time_point t) {
  const std::vector<uint16_t> tools{1};
  for (int i = 0; i < n; ++i) c.observe(Variant::canary, tools, shadow(i < disagreements), t);
}
}  // namespace

TEST_CASE("shadow trigger: a shadow observation touches no other SLI", "[shadow][rollout]") {
  Observation o = shadow(true);
  for (std::size_t i = 0; i < kRateSlis; ++i)
    CHECK(o.rate[i] == (i == static_cast<std::size_t>(RateSli::shadow_disagreement) ? 1 : -1));
  CHECK(std::string(to_string(RateSli::shadow_disagreement)) == "shadow_disagreement");
}

TEST_CASE("shadow trigger: waits for min_samples, then judges against tolerance_abs", "[shadow][rollout]") {
  SECTION("below the minimum sample: holds") {
    Controller c(shadow_config(0.05), T0);
    feed(c, 20, 10, T0);
    Decision d = c.evaluate(T0);
    CHECK(d.kind == Decision::Kind::none);
    REQUIRE(d.results.size() == 1);
    CHECK(d.results[0].eval.verdict == Verdict::min_sample);
  }
  SECTION("agreement within the tolerance: passes, no rollback") {
    Controller c(shadow_config(0.10), T0);
    feed(c, 300, 6, T0);  // 2 % disagreement, 10 points tolerated
    Decision d = c.evaluate(T0);
    CHECK(d.kind == Decision::Kind::none);
    REQUIRE(d.results.size() == 1);
    CHECK(d.results[0].eval.verdict != Verdict::min_sample);
    CHECK(d.results[0].eval.baseline_n == d.results[0].eval.canary_n);  // the reference has the same n
    CHECK(d.results[0].eval.baseline_events == 0);
    CHECK_FALSE(c.state().latched);
  }
  SECTION("a quarter of the slice disagrees, 5 points tolerated: rolls back on that slice") {
    Controller c(shadow_config(0.05), T0);
    feed(c, 600, 150, T0);
    Decision d = c.evaluate(T0);
    CHECK(d.kind == Decision::Kind::rollback);
    REQUIRE(d.cause);
    CHECK(d.cause->slice_name == "tools");
    CHECK(d.cause->eval.canary_rate == Approx(0.25));
    CHECK(c.state().latched);
  }
}
