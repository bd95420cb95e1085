// What a finished request tells the rollback judge (gateway/rollout_observation.cpp): which requests count,
// for which variant, and which SLIs apply and failed.
#include <catch2/catch.hpp>

#include "gateway/rollout_observation.hpp"

using namespace slipway;
using rollout::LatencySli;
using rollout::RateSli;

namespace {

config::Config two_variant_config() {
  config::Config cfg;
  config::Model m;
  m.name = "m";
  m.baseline.served_model = "m-fp16";
  m.canary = config::Variant{};
  m.canary->served_model = "m-int4";
  m.canary->weight_percent = 10;
  m.canary->price = config::Variant::Price{1.0, 2.0};
  cfg.models.push_back(m);
  return cfg;
}

Outcome answered(VariantKind v) {
  Outcome o;
  o.proxied = true;
  o.variant = o.answered_by = v;
  o.split_reason = "sticky_user";
  o.status = 200;
  o.start = Clock::time_point(std::chrono::seconds(100));
  o.end = o.start + std::chrono::milliseconds(250);
  o.verdict = validators::Verdict{};
  o.usage = Usage{1000, 500};
  return o;
}

int rate(const JudgedRequest& j, RateSli s) { return j.observation.rate[static_cast<std::size_t>(s)]; }
double dist(const JudgedRequest& j, LatencySli s) { return j.observation.latency[static_cast<std::size_t>(s)]; }

}  // namespace

TEST_CASE("rollout observation: a good canary answer", "[rollout][observation]") {
  const auto cfg = two_variant_config();
  auto j = judged_request(answered(VariantKind::canary), cfg, 0, false);
  REQUIRE(j);
  CHECK(j->variant == rollout::Variant::canary);
  CHECK(rate(*j, RateSli::upstream_error) == 0);
  CHECK(rate(*j, RateSli::validation_failure) == 0);
  CHECK(rate(*j, RateSli::refusal) == 0);
  CHECK(rate(*j, RateSli::truncation) == 0);
  CHECK(rate(*j, RateSli::tool_call_failure) == -1);  // no tools offered: does not apply
  CHECK(dist(*j, LatencySli::end_to_end) == Approx(0.25));
  CHECK(dist(*j, LatencySli::time_to_first_token) < 0);  // not a stream
  CHECK(dist(*j, LatencySli::output_tokens) == Approx(500 * kOutputTokensScale));
  // 1000 prompt tokens at 1.0 per 1k + 500 completion tokens at 2.0 per 1k = 2.0
  CHECK(dist(*j, LatencySli::cost_per_success) == Approx(2.0 * kCostScale));
}

TEST_CASE("rollout observation: findings, refusals, truncation and tool calls", "[rollout][observation]") {
  const auto cfg = two_variant_config();
  auto o = answered(VariantKind::baseline);
  o.verdict->add(validators::FindingKind::tool_args_schema_violation, "/x: wrong type");
  o.verdict->tool_calls = 2;
  o.verdict->tool_calls_valid = 1;
  o.verdict->refusal = true;
  o.verdict->truncated = true;
  auto j = judged_request(o, cfg, 0, true);
  REQUIRE(j);
  CHECK(j->variant == rollout::Variant::baseline);
  CHECK(rate(*j, RateSli::validation_failure) == 1);
  CHECK(rate(*j, RateSli::tool_call_failure) == 1);
  CHECK(rate(*j, RateSli::refusal) == 1);
  CHECK(rate(*j, RateSli::truncation) == 1);
  CHECK(dist(*j, LatencySli::cost_per_success) < 0);  // not a success: no cost per success
}

TEST_CASE("rollout observation: a canary replaced by the baseline is judged by its own failure", "[rollout][observation]") {
  const auto cfg = two_variant_config();
  SECTION("canary error before answering: an upstream failure, nothing else known") {
    auto o = answered(VariantKind::canary);
    o.answered_by = VariantKind::baseline;
    o.fallback_reason = "canary_connect";
    auto j = judged_request(o, cfg, 0, false);
    REQUIRE(j);
    CHECK(j->variant == rollout::Variant::canary);
    CHECK(rate(*j, RateSli::upstream_error) == 1);
    CHECK(rate(*j, RateSli::validation_failure) == -1);
    CHECK(dist(*j, LatencySli::end_to_end) < 0);
  }
  SECTION("canary invalid answer: the replaced answer's findings count, not the baseline's") {
    auto o = answered(VariantKind::canary);
    o.answered_by = VariantKind::baseline;
    o.fallback_reason = "canary_invalid";
    o.fallen_back_verdict = validators::Verdict{};
    o.fallen_back_verdict->add(validators::FindingKind::schema_violation, "/a: required");
    auto j = judged_request(o, cfg, 0, false);
    REQUIRE(j);
    CHECK(rate(*j, RateSli::upstream_error) == 0);
    CHECK(rate(*j, RateSli::validation_failure) == 1);
    CHECK(dist(*j, LatencySli::end_to_end) < 0);  // the baseline's time is not the canary's
  }
}

TEST_CASE("rollout observation: requests outside the randomized split tell the judge nothing", "[rollout][observation]") {
  const auto cfg = two_variant_config();
  auto pinned = answered(VariantKind::baseline);
  pinned.split_reason = "pinned";
  CHECK_FALSE(judged_request(pinned, cfg, 0, false));
  auto gone = answered(VariantKind::canary);
  gone.client_gone = true;
  CHECK_FALSE(judged_request(gone, cfg, 0, false));
  auto bad = answered(VariantKind::canary);
  bad.status = 400;
  bad.error_code = "invalid_request";
  CHECK_FALSE(judged_request(bad, cfg, 0, false));
  auto local = answered(VariantKind::baseline);
  local.proxied = false;
  CHECK_FALSE(judged_request(local, cfg, 0, false));
  auto no_canary = two_variant_config();
  no_canary.models[0].canary.reset();
  CHECK_FALSE(judged_request(answered(VariantKind::baseline), no_canary, 0, false));
  // A 5xx from the backend is the variant's failure.
  auto failed = answered(VariantKind::baseline);
  failed.status = 502;
  failed.error_code = "upstream_connect_failed";
  auto j = judged_request(failed, cfg, 0, false);
  REQUIRE(j);
  CHECK(rate(*j, RateSli::upstream_error) == 1);
}
