// Rollout library units: windows, the tests' edge cases, the controller's latch and steps, the state file.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

#include "gateway/rollout/controller.hpp"
#include "gateway/rollout/judge.hpp"
#include "gateway/rollout/state_file.hpp"
#include "gateway/rollout/window.hpp"

using namespace slipway::rollout;
using namespace std::chrono_literals;

namespace {
const Clock::time_point T0{std::chrono::hours(1000)};

Observation failed(bool f) { return Observation{}.set(RateSli::validation_failure, f); }

std::string temp_dir() {
  auto d = std::filesystem::temp_directory_path() /
           ("rollout_test_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
  std::filesystem::create_directories(d);
  return d.string();
}

ControllerConfig small_config() {
  ControllerConfig c;
  c.revision = "r1";
  c.window = WindowConfig{5s, 60};
  c.slices = {"nested"};
  TriggerSpec t;
  t.name = "schema";
  t.slice = "each";
  t.window = 5min;
  t.min_samples = 100;
  t.alpha = 0.01;
  c.triggers = {t};
  return c;
}
}  // namespace

TEST_CASE("latency bins are log-spaced and cover the range", "[rollout][window]") {
  CHECK(LatencyBins::index_of(0.0) == 0);
  CHECK(LatencyBins::index_of(-1.0) == 0);
  CHECK(LatencyBins::index_of(std::nan("")) == 0);
  CHECK(LatencyBins::index_of(1e9) == LatencyBins::kCount - 1);
  for (double s : {0.0011, 0.05, 0.31, 1.0, 7.5, 42.0}) {
    const auto i = LatencyBins::index_of(s);
    CHECK(LatencyBins::lower_edge(i) <= s);
    CHECK(s < LatencyBins::upper_edge(i));
    CHECK(LatencyBins::upper_edge(i) / LatencyBins::lower_edge(i) == Approx(std::exp2(1.0 / 8)));
  }
}

TEST_CASE("windows count per variant and slice, and forget what leaves the ring", "[rollout][window]") {
  Windows w(WindowConfig{5s, 12}, 3);  // 60 s ring
  const uint16_t s1[] = {1};
  const uint16_t s12[] = {0, 1, 2, 1};  // 0 and duplicates are ignored
  w.observe(Variant::canary, s1, failed(true), T0);
  w.observe(Variant::canary, s12, failed(false).set(LatencySli::end_to_end, 0.25), T0 + 1s);
  w.observe(Variant::baseline, {}, failed(false), T0 + 2s);
  const auto now = T0 + 3s;
  auto c0 = w.rate_last(Variant::canary, 0, RateSli::validation_failure, 60s, now);
  CHECK(c0.trials == 2);
  CHECK(c0.failures == 1);
  CHECK(w.rate_last(Variant::canary, 1, RateSli::validation_failure, 60s, now).trials == 2);
  CHECK(w.rate_last(Variant::canary, 2, RateSli::validation_failure, 60s, now).trials == 1);
  CHECK(w.rate_last(Variant::baseline, 0, RateSli::validation_failure, 60s, now).trials == 1);
  CHECK(w.rate_last(Variant::baseline, 1, RateSli::validation_failure, 60s, now).trials == 0);
  CHECK(w.rate_last(Variant::canary, 0, RateSli::refusal, 60s, now).trials == 0);  // not applicable
  Histogram h;
  w.latency(Variant::canary, 2, LatencySli::end_to_end, w.epoch_of(T0), w.epoch_of(now), h);
  CHECK(h[LatencyBins::index_of(0.25)] == 1);

  // 55 s later the data are still inside a 60 s window; at 65 s they are gone (and the slot is reused).
  CHECK(w.rate_last(Variant::canary, 0, RateSli::validation_failure, 60s, T0 + 55s).trials == 2);
  CHECK(w.rate_last(Variant::canary, 0, RateSli::validation_failure, 60s, T0 + 65s).trials == 0);
  CHECK(w.rate_last(Variant::canary, 0, RateSli::validation_failure, 10s, T0 + 12s).trials == 0);
  w.observe(Variant::canary, {}, failed(true), T0 + 62s);  // same ring slot as T0
  c0 = w.rate_last(Variant::canary, 0, RateSli::validation_failure, 60s, T0 + 62s);
  CHECK(c0.trials == 1);
  CHECK(c0.failures == 1);
  // An observation older than what the slot holds is dropped, not mixed in.
  w.observe(Variant::canary, {}, failed(true), T0 + 1s);
  CHECK(w.dropped() == 1);
  CHECK(w.rate_last(Variant::canary, 0, RateSli::validation_failure, 60s, T0 + 62s).trials == 1);
  // Asking for more than the ring holds is clipped to the ring.
  CHECK(w.rate_last(Variant::canary, 0, RateSli::validation_failure, 1h, T0 + 62s).trials == 1);
}

TEST_CASE("rate test: min sample, tolerance, significance, direction", "[rollout][judge]") {
  RateTestParams p;
  p.min_samples = 500;
  p.alpha = 1e-3;
  auto e = rate_test({499, 100}, {10000, 10}, p);
  CHECK(e.verdict == Verdict::min_sample);
  e = rate_test({1000, 20}, {20000, 400}, p);  // equal rates
  CHECK(e.verdict == Verdict::within_tolerance);
  CHECK(e.p_value == Approx(1.0));
  e = rate_test({1000, 60}, {20000, 400}, p);  // 6 % vs 2 %
  CHECK(e.fired());
  CHECK(e.canary_rate == Approx(0.06));
  CHECK(e.baseline_rate == Approx(0.02));
  CHECK(e.statistic > 4);
  CHECK(e.p_value < 1e-3);
  CHECK(e.threshold == 1e-3);
  p.tolerance_abs = 0.05;  // 4 points worse is within a 5-point tolerance
  CHECK(rate_test({1000, 60}, {20000, 400}, p).verdict == Verdict::within_tolerance);
  p.tolerance_abs = 0;
  p.tolerance_rel = 2.5;  // 6 % <= 3.5 * 2 %
  CHECK(rate_test({1000, 60}, {20000, 400}, p).verdict == Verdict::within_tolerance);
  p.tolerance_rel = 0;
  CHECK(rate_test({1000, 27}, {20000, 400}, p).verdict == Verdict::not_significant);
  // Lower is better by default: a canary that fails less never fires; with "either" (refusals) it does.
  CHECK(!rate_test({1000, 0}, {20000, 2000}, p).fired());
  p.direction = Direction::either;
  e = rate_test({1000, 0}, {20000, 2000}, p);
  CHECK(e.fired());
  CHECK(e.direction == Direction::lower_is_worse);
  CHECK(e.threshold == Approx(5e-4));
  CHECK(rate_test({1000, 200}, {20000, 2000}, p).direction == Direction::higher_is_worse);
}

TEST_CASE("mSPRT likelihood ratio: closed form matches numerical integration", "[rollout][judge]") {
  const double x = 0.01, var = 4e-5, tau = 0.02;
  // Lambda = integral over u > 0 of exp(u x / V - u^2 / (2V)) * 2 N(u; 0, tau^2) du, by the midpoint rule.
  double sum = 0;
  const double du = 1e-6;
  for (double u = du / 2; u < 0.3; u += du)
    sum += std::exp(u * x / var - u * u / (2 * var)) * 2 * std::exp(-u * u / (2 * tau * tau)) /
           std::sqrt(2 * M_PI * tau * tau) * du;
  CHECK(msprt_log_lr(x, var, tau) == Approx(std::log(sum)).epsilon(1e-6));
  // Far below the tolerance: Lambda decays like 1/|x| (the half-normal mass near 0), no NaN from the
  // cancelling exponents.
  CHECK(std::isfinite(msprt_log_lr(-1.0, 1e-6, 0.02)));
  CHECK(msprt_log_lr(-1.0, 1e-6, 0.02) < msprt_log_lr(-0.01, 1e-6, 0.02));
  CHECK(msprt_log_lr(-1.0, 1e-6, 0.02) < -5);
}

TEST_CASE("latency test: quantile exceedance", "[rollout][judge]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(std::log(0.5), 0.4);
  Histogram base{}, same{}, slow{};
  for (int i = 0; i < 40000; ++i) ++base[LatencyBins::index_of(d(rng))];
  for (int i = 0; i < 4000; ++i) ++same[LatencyBins::index_of(d(rng))];
  for (int i = 0; i < 4000; ++i) ++slow[LatencyBins::index_of(1.5 * d(rng))];
  LatencyTestParams p;
  p.alpha = 1e-4;
  const auto a = latency_test(same, base, p);
  CHECK(!a.fired());
  CHECK(a.baseline_value == Approx(0.5 * std::exp(0.4 * 1.6449)).epsilon(0.05));
  const auto b = latency_test(slow, base, p);
  CHECK(b.fired());
  CHECK(b.canary_value / b.baseline_value == Approx(1.5).epsilon(0.1));
  p.min_samples = 5000;
  CHECK(latency_test(slow, base, p).verdict == Verdict::min_sample);
}

TEST_CASE("controller: config validation", "[rollout][controller]") {
  ControllerConfig c = small_config();
  CHECK(validate(c).empty());
  c.triggers[0].slice = "nope";
  CHECK(validate(c) == "triggers[0].slice: unknown slice \"nope\"");
  c = small_config();
  c.triggers[0].window = 1h;  // ring is 5 min
  CHECK(validate(c).find("triggers[0].window") == 0);
  CHECK_THROWS_AS(Controller(c, T0), std::invalid_argument);
  c = small_config();
  c.slices = {"all"};
  CHECK(validate(c).find("slices[0]") == 0);
}

TEST_CASE("controller: min sample holds, a regression latches until resume", "[rollout][controller]") {
  Controller c(small_config(), T0);
  CHECK(c.pairs() == 1);
  CHECK(c.canary_weight_percent() == 5.0);
  const uint16_t nested[] = {1};
  std::mt19937_64 rng(3);
  std::bernoulli_distribution base(0.02), bad(0.30);
  auto t = T0;
  // 50 canary requests: far below min_samples, even though they are all failures.
  for (int i = 0; i < 50; ++i) c.observe(Variant::canary, nested, failed(true), t);
  for (int i = 0; i < 1000; ++i) c.observe(Variant::baseline, nested, failed(base(rng)), t);
  Decision d = c.evaluate(t);
  CHECK(d.kind == Decision::Kind::none);
  REQUIRE(d.results.size() == 1);
  CHECK(d.results[0].eval.verdict == Verdict::min_sample);
  CHECK(d.results[0].slice_name == "nested");
  // More canary traffic, 30 % failures: fires and latches.
  for (int s = 0; s < 60 && d.kind == Decision::Kind::none; ++s) {
    t += 5s;
    for (int i = 0; i < 20; ++i) c.observe(Variant::canary, nested, failed(bad(rng)), t);
    for (int i = 0; i < 200; ++i) c.observe(Variant::baseline, nested, failed(base(rng)), t);
    d = c.evaluate(t, 1700000000000);
  }
  REQUIRE(d.kind == Decision::Kind::rollback);
  CHECK(d.cause->trigger_name == "schema");
  CHECK(d.cause->eval.fired());
  CHECK(c.state().latched);
  CHECK(c.state().reason->slice == "nested");
  CHECK(c.state().reason->sli == "validation_failure");
  CHECK(c.state().latched_at_unix_ms == 1700000000000);
  CHECK(c.canary_weight_percent() == 0.0);
  // Stays latched, even when the canary is healthy again and the window has moved on.
  for (int s = 0; s < 200; ++s) {
    t += 5s;
    for (int i = 0; i < 200; ++i) c.observe(Variant::baseline, nested, failed(base(rng)), t);
    d = c.evaluate(t);
    CHECK(d.kind == Decision::Kind::none);
  }
  CHECK(d.latched);
  CHECK(c.canary_weight_percent() == 0.0);
  c.resume("r2", t);
  CHECK(!c.state().latched);
  CHECK(c.state().revision == "r2");
  CHECK(c.canary_weight_percent() == 5.0);
  // Manual rollback latches too.
  c.rollback("sre: paged by users", 5);
  CHECK(c.state().latched);
  CHECK(c.state().reason->trigger == "manual");
  CHECK(c.canary_weight_percent() == 0.0);
}

TEST_CASE("controller: resume ignores the data from before the resume", "[rollout][controller]") {
  Controller c(small_config(), T0);
  const uint16_t nested[] = {1};
  for (int i = 0; i < 1000; ++i) c.observe(Variant::canary, nested, failed(i % 2 == 0), T0);
  for (int i = 0; i < 1000; ++i) c.observe(Variant::baseline, nested, failed(false), T0);
  REQUIRE(c.evaluate(T0).kind == Decision::Kind::rollback);
  c.resume("r2", T0 + 5s);
  const Decision d = c.evaluate(T0 + 5s);
  CHECK(d.kind == Decision::Kind::none);
  CHECK(d.results[0].eval.verdict == Verdict::min_sample);
}

TEST_CASE("controller: progressive steps promote only after the hold and when every trigger passes",
          "[rollout][controller]") {
  ControllerConfig cfg = small_config();
  cfg.steps = {{1, 60s}, {5, 60s}, {25, 60s}, {50, 60s}};
  cfg.weight_percent = 80;  // after the last step
  Controller c(cfg, T0);
  CHECK(c.canary_weight_percent() == 1.0);
  const uint16_t nested[] = {1};
  auto t = T0;
  // Before the hold is over: no promotion. After it, still none while a trigger lacks its min sample.
  Decision d = c.evaluate(t + 30s);
  CHECK(d.kind == Decision::Kind::none);
  CHECK(d.hold_reason.find("holding step 0") == 0);
  d = c.evaluate(t + 61s);
  CHECK(d.kind == Decision::Kind::none);
  CHECK(d.hold_reason == "min sample: schema on nested");
  // Healthy traffic on both sides: promotes one step per hold.
  std::vector<double> weights;
  for (int s = 0; s < 80; ++s) {
    t += 5s;
    for (int i = 0; i < 50; ++i) c.observe(Variant::canary, nested, failed(i == 0), t);
    for (int i = 0; i < 50; ++i) c.observe(Variant::baseline, nested, failed(i == 0), t);
    d = c.evaluate(t);
    if (d.kind == Decision::Kind::promote) weights.push_back(d.to_weight_percent);
    REQUIRE(d.kind != Decision::Kind::rollback);
  }
  CHECK(weights == std::vector<double>{5, 25, 50, 80});
  CHECK(c.state().step == 4);
  CHECK(c.canary_weight_percent() == 80.0);
  CHECK(d.hold_reason == "at full weight");
  // A weight override wins and is shown in state; a resume (new revision) clears it and restarts at step 0.
  c.set_weight_override(10.0);
  CHECK(c.canary_weight_percent() == 10.0);
  CHECK_THROWS_AS(c.set_weight_override(101.0), std::invalid_argument);
  CHECK(c.canary_weight_percent() == 10.0);
  c.resume("r2", t);
  CHECK(c.canary_weight_percent() == 1.0);
  CHECK(!c.state().weight_override);
}

TEST_CASE("state file: latch round trip, restore, revision change", "[rollout][state]") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/rollout.json";
  CHECK(read_state_file(path).status == StateFileRead::Status::missing);

  Controller c(small_config(), T0);
  const uint16_t nested[] = {1};
  for (int i = 0; i < 1000; ++i) c.observe(Variant::canary, nested, failed(i % 3 == 0), T0);
  for (int i = 0; i < 1000; ++i) c.observe(Variant::baseline, nested, failed(false), T0);
  REQUIRE(c.evaluate(T0, 42).kind == Decision::Kind::rollback);
  c.set_weight_override(2.5);
  std::string err;
  REQUIRE(write_state_file(path, c.state(), err));
  CHECK(err.empty());
  // No temp file left behind.
  int files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);

  const StateFileRead r = read_state_file(path);
  REQUIRE(r.status == StateFileRead::Status::ok);
  CHECK(r.state.latched);
  CHECK(r.state.revision == "r1");
  CHECK(r.state.latched_at_unix_ms == 42);
  CHECK(r.state.weight_override == 2.5);
  REQUIRE(r.state.reason);
  CHECK(r.state.reason->trigger == "schema");
  CHECK(r.state.reason->slice == "nested");
  CHECK(r.state.reason->numbers.verdict == Verdict::fired);
  CHECK(r.state.reason->numbers.canary_n == c.state().reason->numbers.canary_n);
  CHECK(r.state.reason->numbers.p_value == c.state().reason->numbers.p_value);
  CHECK(r.state.reason->numbers.canary_rate == c.state().reason->numbers.canary_rate);

  // A restart with the same revision stays rolled back.
  Controller again(small_config(), T0 + 1h, r.state);
  CHECK(again.state().latched);
  CHECK(again.canary_weight_percent() == 0.0);
  CHECK(again.evaluate(T0 + 1h).kind == Decision::Kind::none);
  // A new revision in the config is a resume.
  ControllerConfig next = small_config();
  next.revision = "r2";
  Controller resumed(next, T0 + 1h, r.state);
  CHECK(!resumed.state().latched);
  CHECK(resumed.state().revision == "r2");
  CHECK(!resumed.state().weight_override);
  // Overwriting works (rename over an existing file).
  REQUIRE(write_state_file(path, resumed.state(), err));
  CHECK(!read_state_file(path).state.latched);
  std::filesystem::remove_all(dir);
}

TEST_CASE("state file: corrupt or unwritable files are reported, not fatal", "[rollout][state]") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/rollout.json";
  auto write_raw = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    return read_state_file(path);
  };
  auto r = write_raw("{\"format\": 1, \"revision\": \"r1\", \"latch");
  CHECK(r.status == StateFileRead::Status::error);
  CHECK(r.error.find(path + ": not JSON") == 0);
  r = write_raw("");
  CHECK(r.status == StateFileRead::Status::error);
  r = write_raw("[1,2]");
  CHECK(r.status == StateFileRead::Status::error);
  r = write_raw(std::string("\x00\xff\xfe garbage", 12));
  CHECK(r.status == StateFileRead::Status::error);
  r = write_raw(R"({"format":1,"revision":"r1","latched":"yes","latched_at_unix_ms":0,"step":0,)"
                R"("weight_override":null,"reason":null})");
  CHECK(r.status == StateFileRead::Status::error);
  CHECK(r.error == path + ": latched: expected true or false");
  r = write_raw(R"({"format":1,"revision":"r1","latched":true,"latched_at_unix_ms":0,"step":0,)"
                R"("weight_override":null,"reason":null})");
  CHECK(r.error == path + ": latched is true but reason is null");
  r = write_raw(R"({"format":1,"revision":"r1","latched":false,"latched_at_unix_ms":0,"step":0,)"
                R"("weight_override":250,"reason":null})");
  CHECK(r.error == path + ": weight_override: must be within [0, 100]");
  r = write_raw(R"({"format":2})");
  CHECK(r.error == path + ": format: unsupported version");
  r = write_raw(R"({"format":1,"revision":"r1","latched":false,"latched_at_unix_ms":0,"step":0,)"
                R"("weight_override":null,"reason":null})");
  CHECK(r.status == StateFileRead::Status::ok);

  std::string err;
  CHECK(!write_state_file(dir + "/no/such/dir/rollout.json", RolloutState{}, err));
  CHECK(err.find("open") != std::string::npos);
  std::filesystem::remove_all(dir);
}
