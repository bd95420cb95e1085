// Metrics: outcome classification, per-shard recording under slice="all" and each matching slice,
// unknown models as "other", sums across shards at scrape, and the exposition text.
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "gateway/metrics.hpp"
#include "gateway/runtime.hpp"
#include "gateway/worker_context.hpp"

using namespace slipway;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& yaml) {
  auto r = config::parse_config(yaml, "t.yaml");
  for (const auto& e : r.errors) FAIL(e.to_string());
  return r.config;
}

const char* kConfig = R"(
models:
  - name: m
    baseline: {endpoints: ["127.0.0.1:1"], price: {prompt_per_1k: 1, completion_per_1k: 2}}
    canary: {endpoints: ["127.0.0.1:2"], weight: 25}
slices:
  - {name: deep, schema_depth_at_least: 3}
  - {name: streaming, stream: true}
)";

Outcome proxied(VariantKind v) {
  Outcome o;
  o.proxied = true;
  o.variant = o.answered_by = v;
  o.status = 200;
  o.start = Clock::now() - std::chrono::milliseconds(30);
  o.upstream_start = o.start + std::chrono::milliseconds(1);
  o.upstream_elapsed = std::chrono::milliseconds(28);
  o.end = Clock::now();
  return o;
}

// The value of one sample line `name{labels} value` in the exposition, or -1.
double sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("metrics: outcome classification", "[metrics]") {
  Outcome o = proxied(VariantKind::canary);
  CHECK(classify_outcome(o) == RequestOutcome::ok);
  o.verdict.emplace();
  o.verdict->add(validators::FindingKind::schema_violation, "x");
  CHECK(classify_outcome(o) == RequestOutcome::invalid);
  o.fallback_reason = "canary_invalid";
  CHECK(classify_outcome(o) == RequestOutcome::fallback);
  o.client_gone = true;
  CHECK(classify_outcome(o) == RequestOutcome::client_gone);
  Outcome t = proxied(VariantKind::baseline);
  t.status = 504;
  t.error_code = "first_byte_timeout";
  CHECK(classify_outcome(t) == RequestOutcome::timeout);
  t.error_code = "connect";
  t.status = 502;
  CHECK(classify_outcome(t) == RequestOutcome::upstream_error);
  Outcome bad;
  bad.status = 400;
  bad.error_code = "invalid_request";
  CHECK(classify_outcome(bad) == RequestOutcome::client_error);
  Outcome rej = proxied(VariantKind::canary);
  rej.status = 502;
  rej.error_code = "response_validation_failed";
  CHECK(classify_outcome(rej) == RequestOutcome::invalid);
  CHECK(fallback_reason_index("canary_connect") == 3);
  CHECK(kFallbackReasons[fallback_reason_index("weird")] == "other");
}

TEST_CASE("metrics: shards record by model, variant and slice, and a scrape sums them", "[metrics]") {
  EndpointRegistry registry;
  SnapshotStore store(registry);
  auto snap = store.publish(parse(kConfig));
  const config::Config& cfg = *snap->config;
  GatewayCounters counters;
  Metrics metrics(store, counters);
  MetricsShard& a = metrics.add_shard();
  MetricsShard& b = metrics.add_shard();

  // 3 canary answers on the deep slice with a schema violation, from two shards.
  for (int i = 0; i < 3; ++i) {
    Outcome o = proxied(VariantKind::canary);
    o.slices = 0b01;
    o.verdict.emplace();
    o.verdict->add(validators::FindingKind::schema_violation, "x");
    o.usage = Usage{100, 50};
    (i % 2 ? a : b).record({o, cfg, 0, o.slices, true});
  }
  // 2 ok baseline streams with TTFT; one with a tool call, valid.
  for (int i = 0; i < 2; ++i) {
    Outcome o = proxied(VariantKind::baseline);
    o.stream = true;
    o.slices = 0b10;
    o.first_token = o.start + std::chrono::milliseconds(5);
    o.verdict.emplace();
    o.verdict->tool_calls = o.verdict->tool_calls_valid = 1;
    o.usage = Usage{1000, 500};
    a.record({o, cfg, 0, o.slices, true});
  }
  // An unknown model and a bad request: model "other", variant "none".
  Outcome bad;
  bad.status = 404;
  bad.error_code = "model_not_found";
  bad.start = bad.end = Clock::now();
  b.record({bad, cfg, cfg.models.size(), 0, true});
  // A fallback and an upstream error.
  Outcome fb = proxied(VariantKind::canary);
  fb.answered_by = VariantKind::baseline;
  fb.fallback_reason = "canary_connect";
  fb.upstream_errors.push_back({"127.0.0.1:2", "connect"});
  a.record({fb, cfg, 0, 0, true});
  // Local endpoints are not counted.
  Outcome local;
  a.record({local, cfg, 0, 0, false});

  std::string text = metrics.scrape();
  INFO(text.substr(0, 4000));
  CHECK(sample(text, R"(slipway_requests_total{model="m",variant="canary",slice="all",outcome="invalid"})") == 3);
  CHECK(sample(text, R"(slipway_requests_total{model="m",variant="canary",slice="deep",outcome="invalid"})") == 3);
  CHECK(sample(text, R"(slipway_requests_total{model="m",variant="canary",slice="streaming",outcome="invalid"})") == 0);
  CHECK(sample(text, R"(slipway_validation_findings_total{model="m",variant="canary",slice="deep",kind="schema_violation"})") == 3);
  CHECK(sample(text, R"(slipway_validation_findings_total{model="m",variant="baseline",slice="deep",kind="schema_violation"})") == 0);
  CHECK(sample(text, R"(slipway_requests_total{model="m",variant="baseline",slice="streaming",outcome="ok"})") == 2);
  CHECK(sample(text, R"(slipway_tool_calls_total{model="m",variant="baseline",slice="all",result="valid"})") == 2);
  CHECK(sample(text, R"(slipway_requests_total{model="other",variant="none",slice="all",outcome="client_error"})") == 1);
  CHECK(sample(text, R"(slipway_requests_total{model="m",variant="canary",slice="all",outcome="fallback"})") == 1);
  CHECK(sample(text, R"(slipway_fallbacks_total{model="m",from="canary",to="baseline",reason="canary_connect"})") == 1);
  CHECK(sample(text, R"(slipway_upstream_errors_total{endpoint="127.0.0.1:2",kind="connect"})") == 1);
  CHECK(sample(text, R"(slipway_tokens_total{model="m",variant="baseline",slice="all",type="prompt"})") == 2000);
  // Baseline price 1 + 2 per 1k: 2 x (1000/1000*1 + 500/1000*2) = 4; the canary has no price.
  CHECK(sample(text, R"(slipway_cost_total{model="m",variant="baseline",slice="all"})") == Approx(4.0));
  CHECK(sample(text, R"(slipway_cost_total{model="m",variant="canary",slice="all"})") == 0);
  CHECK(sample(text, R"(slipway_time_to_first_token_seconds_count{model="m",variant="baseline",slice="streaming"})") == 2);
  CHECK(sample(text, R"(slipway_time_to_first_token_seconds_bucket{model="m",variant="baseline",slice="streaming",le="0.005"})") == 2);
  CHECK(sample(text, R"(slipway_request_duration_seconds_count{model="m",variant="canary",slice="all"})") == 4);
  CHECK(sample(text, R"(slipway_gateway_overhead_seconds_count{model="m",variant="canary",slice="all"})") == 4);
  CHECK(sample(text, R"(slipway_canary_weight_percent{model="m"})") == 25);
  CHECK(sample(text, R"(slipway_config_info{generation="1"})") == 1);
  CHECK(text.find("slipway_build_info{version=") != std::string::npos);
  CHECK(sample(text, R"(slipway_config_reloads_total{result="applied"})") == 0);
  CHECK(text.find("# TYPE slipway_requests_total counter") != std::string::npos);
  CHECK(text.find("# TYPE slipway_request_duration_seconds histogram") != std::string::npos);

  // A reload that adds a slice: counts so far stay, new series appear.
  auto snap2 = store.publish(parse(std::string(kConfig) + "  - {name: extra, tools_at_least: 1}\n"));
  Outcome o = proxied(VariantKind::canary);
  o.slices = 0b100;
  a.record({o, *snap2->config, 0, o.slices, true});
  std::string text2 = metrics.scrape();
  CHECK(sample(text2, R"(slipway_requests_total{model="m",variant="canary",slice="extra",outcome="ok"})") == 1);
  CHECK(sample(text2, R"(slipway_requests_total{model="m",variant="canary",slice="deep",outcome="invalid"})") == 3);
  CHECK(sample(text2, R"(slipway_config_info{generation="2"})") == 1);
}
