#include "gateway/metrics.hpp"
#include "gateway/shadow.hpp"

#include <bit>
#include <chrono>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include "gateway/runtime.hpp"
#include "gateway/worker_context.hpp"

namespace slipway {

const char* version();

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

bool is_timeout(std::string_view code) {
  return code == "first_byte_timeout" || code == "stream_idle_timeout" || code == "total_timeout" ||
         code == "upstream_timeout";
}

}  // namespace

std::string_view to_string(RequestOutcome o) {
  switch (o) {
    case RequestOutcome::ok: return "ok";
    case RequestOutcome::invalid: return "invalid";
    case RequestOutcome::upstream_error: return "upstream_error";
    case RequestOutcome::timeout: return "timeout";
    case RequestOutcome::client_error: return "client_error";
    case RequestOutcome::fallback: return "fallback";
    case RequestOutcome::client_gone: return "client_gone";
  }
  return "ok";
}

// In order: the client left; a fallback answered; the answer failed validation (rejected or passed on);
// a timeout; a client-side error (bad input, unknown model, a backend 4xx); any other error; ok.
RequestOutcome classify_outcome(const Outcome& o) {
  if (o.client_gone) return RequestOutcome::client_gone;
  if (!o.fallback_reason.empty() && o.status > 0 && o.status < 400) return RequestOutcome::fallback;
  if (o.error_code == "response_validation_failed") return RequestOutcome::invalid;
  if (is_timeout(o.error_code)) return RequestOutcome::timeout;
  if (o.status >= 400 && o.status < 500) return RequestOutcome::client_error;
  if (o.status >= 500 || !o.error_code.empty()) return RequestOutcome::upstream_error;
  if (o.verdict && !o.verdict->ok()) return RequestOutcome::invalid;
  return RequestOutcome::ok;
}

std::size_t fallback_reason_index(std::string_view reason) {
  for (std::size_t i = 0; i + 1 < kFallbackReasons.size(); ++i)
    if (kFallbackReasons[i] == reason) return i;
  return kFallbackReasons.size() - 1;
}

// ---------------------------------------------------------------------------------------------------
// Shard

SeriesCells* MetricsShard::cells_for(const std::string& model, std::string_view variant, const std::string& slice) {
  auto key = std::make_tuple(model, std::string(variant), slice);
  auto it = series_.find(key);
  if (it == series_.end()) it = series_.emplace(std::move(key), std::make_unique<SeriesCells>()).first;
  return it->second.get();
}

MetricsShard::Table& MetricsShard::table_for(const config::Config& cfg) {
  for (auto& t : tables_)
    if (t.cfg == &cfg && t.generation == cfg.generation) return t;
  Table& t = tables_[next_table_];
  next_table_ ^= 1u;
  t.cfg = &cfg;
  t.generation = cfg.generation;
  std::vector<std::string> models;
  for (const auto& m : cfg.models) models.push_back(m.name);
  models.push_back("other");
  std::vector<std::string> slices{"all"};
  for (std::size_t i = 0; i < cfg.slices.size() && i < config::kMaxSlices; ++i) slices.push_back(cfg.slices[i].name);
  t.models = models.size();
  t.slices = slices.size();
  t.cells.assign(t.models * kVariantLabels.size() * t.slices, nullptr);
  std::lock_guard lock(mutex_);
  for (std::size_t m = 0; m < t.models; ++m)
    for (std::size_t v = 0; v < kVariantLabels.size(); ++v)
      for (std::size_t s = 0; s < t.slices; ++s)
        t.cells[(m * kVariantLabels.size() + v) * t.slices + s] = cells_for(models[m], kVariantLabels[v], slices[s]);
  return t;
}

void MetricsShard::count_upstream_error(std::string_view endpoint, std::string_view kind) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(std::string(endpoint), std::string(kind));
  auto it = upstream_errors_.find(key);
  if (it == upstream_errors_.end()) it = upstream_errors_.emplace(std::move(key), std::make_unique<LocalCounter>()).first;
  it->second->add();
}

void MetricsShard::record(const RecordInput& in) {
  if (!in.counted) return;
  const Outcome& o = in.out;
  Table& t = table_for(in.cfg);
  const std::size_t m = in.model_index < t.models ? in.model_index : t.models - 1;
  constexpr std::size_t kNone = 2;
  const std::size_t v = o.proxied ? static_cast<std::size_t>(o.variant) : kNone;
  const std::size_t answered = o.proxied ? static_cast<std::size_t>(o.answered_by) : kNone;
  auto cell = [&](std::size_t variant, std::size_t slice) -> SeriesCells& {
    return *t.cells[(m * kVariantLabels.size() + variant) * t.slices + slice];
  };

  const std::size_t outcome = static_cast<std::size_t>(classify_outcome(o));
  // The split's variant is judged by its own answer: after a fallback, the canary answer that was replaced.
  const validators::Verdict* verdict = o.fallen_back_verdict ? &*o.fallen_back_verdict : o.verdict ? &*o.verdict : nullptr;
  const uint32_t kinds = verdict ? verdict->kinds_mask() : 0;
  const double duration = seconds(o.end - o.start);
  const bool has_ttft = o.stream && o.first_token != Clock::time_point{};
  const double ttft = has_ttft ? seconds(o.first_token - o.start) : 0.0;
  double overhead = o.proxied ? seconds(o.end - o.start - o.upstream_elapsed) : 0.0;
  if (overhead < 0) overhead = 0;
  double cost = 0;
  if (o.usage && m < in.cfg.models.size()) {
    const auto& model = in.cfg.models[m];
    const config::Variant* var = answered == 1 && model.canary ? &*model.canary : &model.baseline;
    if (var->price)
      cost = static_cast<double>(o.usage->prompt_tokens) / 1000.0 * var->price->prompt_per_1k +
             static_cast<double>(o.usage->completion_tokens) / 1000.0 * var->price->completion_per_1k;
  }

  // Slice 0 is "all"; slice s > 0 is config.slices[s - 1].
  uint64_t mask = (static_cast<uint64_t>(o.slices) << 1 | 1u) & ((t.slices >= 64 ? 0 : (uint64_t{1} << t.slices)) - 1);
  for (; mask; mask &= mask - 1) {
    const std::size_t s = static_cast<std::size_t>(std::countr_zero(mask));
    SeriesCells& c = cell(v, s);
    c.requests[outcome].add();
    for (uint32_t k = kinds; k; k &= k - 1) {
      auto kind = static_cast<std::size_t>(std::countr_zero(k));
      if (kind < c.findings.size()) c.findings[kind].add();
    }
    if (verdict) {
      if (verdict->tool_calls_valid) c.tool_calls_valid.add(verdict->tool_calls_valid);
      if (verdict->tool_calls > verdict->tool_calls_valid) c.tool_calls_invalid.add(verdict->tool_calls - verdict->tool_calls_valid);
      if (verdict->refusal) c.refusals.add();
      if (verdict->truncated) c.truncations.add();
      if (verdict->empty) c.empty.add();
    }
    c.duration.observe(duration, kLatencyBuckets);
    if (has_ttft) c.ttft.observe(ttft, kLatencyBuckets);
    if (o.proxied) c.overhead.observe(overhead, kOverheadBuckets);
    if (o.usage) {
      // Tokens and cost belong to the variant that produced them (the baseline after a fallback).
      SeriesCells& a = cell(answered, s);
      a.prompt_tokens.add(static_cast<uint64_t>(std::max<int64_t>(0, o.usage->prompt_tokens)));
      a.completion_tokens.add(static_cast<uint64_t>(std::max<int64_t>(0, o.usage->completion_tokens)));
      a.output_tokens.observe(static_cast<double>(o.usage->completion_tokens), kTokenBuckets);
      if (cost > 0) a.cost.add(cost);
    }
  }
  if (!o.fallback_reason.empty()) cell(v, 0).fallbacks[fallback_reason_index(o.fallback_reason)].add();
  for (const auto& e : o.upstream_errors) count_upstream_error(e.endpoint, e.kind);
}

// ---------------------------------------------------------------------------------------------------
// Collection: sum the shards at scrape time.

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

struct SeriesSum {
  std::array<uint64_t, kOutcomeCount> requests{};
  std::array<uint64_t, validators::kFindingKindCount> findings{};
  uint64_t tool_calls_valid = 0, tool_calls_invalid = 0, refusals = 0, truncations = 0, empty = 0;
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  double cost = 0;
  struct Hist {
    std::vector<uint64_t> buckets;
    double sum = 0;
  };
  Hist duration, ttft, overhead, output_tokens;
  std::array<uint64_t, kFallbackReasons.size()> fallbacks{};
};

template <std::size_t N>
void add_hist(SeriesSum::Hist& h, const LocalHistogram<N>& l) {
  if (h.buckets.empty()) h.buckets.assign(N + 1, 0);
  for (std::size_t i = 0; i <= N; ++i) h.buckets[i] += l.buckets[i].get();
  h.sum += l.sum.get();
}

template <std::size_t N>
ClientMetric hist_metric(std::vector<ClientMetric::Label> labels, const SeriesSum::Hist& h,
                         const std::array<double, N>& bounds) {
  ClientMetric cm;
  cm.label = std::move(labels);
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += h.buckets.empty() ? 0 : h.buckets[i];
    cm.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  cumulative += h.buckets.empty() ? 0 : h.buckets[N];
  cm.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  cm.histogram.sample_count = cumulative;
  cm.histogram.sample_sum = h.sum;
  return cm;
}

}  // namespace

ClientMetric value_metric(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric cm;
  cm.label = std::move(labels);
  if (type == MetricType::Counter) cm.counter.value = value;
  else cm.gauge.value = value;
  return cm;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

class Metrics::ShardCollector final : public prometheus::Collectable {
 public:
  explicit ShardCollector(const std::vector<std::unique_ptr<MetricsShard>>& shards) : shards_(shards) {}

  std::vector<MetricFamily> Collect() const override {
    using Key = std::tuple<std::string, std::string, std::string>;
    std::map<Key, SeriesSum> sums;
    std::map<std::pair<std::string, std::string>, uint64_t> upstream;
    for (const auto& shard : shards_) {
      shard->for_each_series([&](const std::string& m, const std::string& v, const std::string& s, const SeriesCells& c) {
        SeriesSum& a = sums[Key{m, v, s}];
        for (std::size_t i = 0; i < kOutcomeCount; ++i) a.requests[i] += c.requests[i].get();
        for (std::size_t i = 0; i < a.findings.size(); ++i) a.findings[i] += c.findings[i].get();
        a.tool_calls_valid += c.tool_calls_valid.get();
        a.tool_calls_invalid += c.tool_calls_invalid.get();
        a.refusals += c.refusals.get();
        a.truncations += c.truncations.get();
        a.empty += c.empty.get();
        a.prompt_tokens += c.prompt_tokens.get();
        a.completion_tokens += c.completion_tokens.get();
        a.cost += c.cost.get();
        add_hist(a.duration, c.duration);
        add_hist(a.ttft, c.ttft);
        add_hist(a.overhead, c.overhead);
        add_hist(a.output_tokens, c.output_tokens);
        for (std::size_t i = 0; i < a.fallbacks.size(); ++i) a.fallbacks[i] += c.fallbacks[i].get();
      });
      shard->for_each_upstream_error(
          [&](const std::string& ep, const std::string& kind, uint64_t n) { upstream[{ep, kind}] += n; });
    }

    auto requests = family("slipway_requests_total", "Requests by model, variant (of the split), slice and outcome.", MetricType::Counter);
    auto findings = family("slipway_validation_findings_total", "Responses with a validation finding of this kind (one per kind per response).", MetricType::Counter);
    auto tool_calls = family("slipway_tool_calls_total", "Tool calls in responses, by result (valid: declared function, JSON arguments valid against its schema).", MetricType::Counter);
    auto refusals = family("slipway_refusals_total", "Responses classified as refusals.", MetricType::Counter);
    auto truncations = family("slipway_truncations_total", "Responses cut by the token limit (finish_reason length).", MetricType::Counter);
    auto empty = family("slipway_empty_responses_total", "Responses with no content and no tool call.", MetricType::Counter);
    auto tokens = family("slipway_tokens_total", "Tokens reported by the backend's usage, by type (prompt, completion), under the variant that answered.", MetricType::Counter);
    auto cost = family("slipway_cost_total", "Cost from the variant's configured price per 1k prompt and completion tokens.", MetricType::Counter);
    auto duration = family("slipway_request_duration_seconds", "End-to-end request duration in the gateway, from the request read to the last byte sent.", MetricType::Histogram);
    auto ttft = family("slipway_time_to_first_token_seconds", "Streams: time from the request read to the first event sent to the client.", MetricType::Histogram);
    auto overhead = family("slipway_gateway_overhead_seconds", "Time spent in slipway itself: duration minus time waiting on backends.", MetricType::Histogram);
    auto output = family("slipway_output_tokens", "Completion tokens per response (usage), under the variant that answered.", MetricType::Histogram);
    auto fallbacks = family("slipway_fallbacks_total", "Requests answered by another variant than the split chose, from -> to, by reason.", MetricType::Counter);
    auto upstream_errors = family("slipway_upstream_errors_total", "Failed upstream attempts by endpoint and kind.", MetricType::Counter);

    for (const auto& [key, a] : sums) {
      const auto& [m, v, s] = key;
      std::vector<ClientMetric::Label> base{{"model", m}, {"variant", v}, {"slice", s}};
      auto with = [&](const char* name, std::string_view value) {
        auto l = base;
        l.push_back({name, std::string(value)});
        return l;
      };
      for (std::size_t i = 0; i < kOutcomeCount; ++i)
        requests.metric.push_back(value_metric(with("outcome", to_string(static_cast<RequestOutcome>(i))),
                                               static_cast<double>(a.requests[i]), MetricType::Counter));
      for (std::size_t i = 0; i < a.findings.size(); ++i)
        findings.metric.push_back(value_metric(with("kind", validators::to_string(static_cast<validators::FindingKind>(i))),
                                               static_cast<double>(a.findings[i]), MetricType::Counter));
      tool_calls.metric.push_back(value_metric(with("result", "valid"), static_cast<double>(a.tool_calls_valid), MetricType::Counter));
      tool_calls.metric.push_back(value_metric(with("result", "invalid"), static_cast<double>(a.tool_calls_invalid), MetricType::Counter));
      refusals.metric.push_back(value_metric(base, static_cast<double>(a.refusals), MetricType::Counter));
      truncations.metric.push_back(value_metric(base, static_cast<double>(a.truncations), MetricType::Counter));
      empty.metric.push_back(value_metric(base, static_cast<double>(a.empty), MetricType::Counter));
      tokens.metric.push_back(value_metric(with("type", "prompt"), static_cast<double>(a.prompt_tokens), MetricType::Counter));
      tokens.metric.push_back(value_metric(with("type", "completion"), static_cast<double>(a.completion_tokens), MetricType::Counter));
      cost.metric.push_back(value_metric(base, a.cost, MetricType::Counter));
      duration.metric.push_back(hist_metric(base, a.duration, kLatencyBuckets));
      ttft.metric.push_back(hist_metric(base, a.ttft, kLatencyBuckets));
      overhead.metric.push_back(hist_metric(base, a.overhead, kOverheadBuckets));
      output.metric.push_back(hist_metric(base, a.output_tokens, kTokenBuckets));
      if (s == "all" && v == "canary")
        for (std::size_t i = 0; i < a.fallbacks.size(); ++i)
          fallbacks.metric.push_back(value_metric(
              {{"model", m}, {"from", v}, {"to", "baseline"}, {"reason", std::string(kFallbackReasons[i])}},
              static_cast<double>(a.fallbacks[i]), MetricType::Counter));
    }
    for (const auto& [key, n] : upstream)
      upstream_errors.metric.push_back(
          value_metric({{"endpoint", key.first}, {"kind", key.second}}, static_cast<double>(n), MetricType::Counter));

    std::vector<MetricFamily> out;
    for (auto* f : {&requests, &findings, &tool_calls, &refusals, &truncations, &empty, &tokens, &cost, &duration,
                    &ttft, &overhead, &output, &fallbacks, &upstream_errors})
      out.push_back(std::move(*f));
    return out;
  }

 private:
  const std::vector<std::unique_ptr<MetricsShard>>& shards_;
};

// Gauges read from the live state at scrape time.
class Metrics::StateCollector final : public prometheus::Collectable {
 public:
  StateCollector(SnapshotStore& store, GatewayCounters& counters) : store_(store), counters_(counters) {}

  std::vector<MetricFamily> Collect() const override {
    auto snap = store_.current();
    auto now = Clock::now();
    auto healthy = family("slipway_endpoint_healthy", "1 when the endpoint is usable for traffic (not ejected, not known down).", MetricType::Gauge);
    auto weight = family("slipway_canary_weight_percent", "The canary's share of traffic now, percent (0 after a rollback; the step or override weight).", MetricType::Gauge);
    auto configured = family("slipway_canary_configured_weight_percent", "The canary weight in the config file, percent.", MetricType::Gauge);
    auto in_flight = family("slipway_in_flight_requests", "Requests being handled.", MetricType::Gauge);
    auto streams = family("slipway_open_streams", "SSE streams being relayed.", MetricType::Gauge);
    auto info = family("slipway_config_info", "The config generation in use (1 for the first, +1 per applied reload).", MetricType::Gauge);
    if (snap) {
      for (const auto& m : snap->models) {
        const std::string& model = m.config->name;
        weight.metric.push_back(value_metric({{"model", model}}, m.canary ? m.canary_weight_percent : 0.0, MetricType::Gauge));
        configured.metric.push_back(value_metric({{"model", model}}, m.canary ? m.canary->config->weight_percent : 0.0, MetricType::Gauge));
        for (const VariantRuntime* vr : {&m.baseline, m.canary ? &*m.canary : nullptr}) {
          if (!vr) continue;
          for (const auto& ep : vr->endpoints)
            healthy.metric.push_back(value_metric(
                {{"model", model}, {"variant", std::string(to_string(vr->kind))}, {"endpoint", ep->label()}},
                ep->usable(now) ? 1.0 : 0.0, MetricType::Gauge));
        }
      }
      info.metric.push_back(value_metric({{"generation", std::to_string(snap->config->generation)}}, 1.0, MetricType::Gauge));
    }
    in_flight.metric.push_back(value_metric({}, counters_.in_flight.load(std::memory_order_relaxed), MetricType::Gauge));
    streams.metric.push_back(value_metric({}, counters_.open_streams.load(std::memory_order_relaxed), MetricType::Gauge));
    return {std::move(healthy), std::move(weight), std::move(configured), std::move(in_flight), std::move(streams), std::move(info)};
  }

 private:
  SnapshotStore& store_;
  GatewayCounters& counters_;
};

// ---------------------------------------------------------------------------------------------------

Metrics::Metrics(SnapshotStore& store, GatewayCounters& counters)
    : store_(store), counters_(counters), registry_(std::make_shared<prometheus::Registry>()) {
  auto& reloads = prometheus::BuildCounter()
                      .Name("slipway_config_reloads_total")
                      .Help("Config reloads by result (applied, rejected).")
                      .Register(*registry_);
  reloads_applied_ = &reloads.Add({{"result", "applied"}});
  reloads_rejected_ = &reloads.Add({{"result", "rejected"}});
  prometheus::BuildGauge()
      .Name("slipway_build_info")
      .Help("Always 1; the version label names the build.")
      .Register(*registry_)
      .Add({{"version", version()}})
      .Set(1);
  shard_collector_ = std::make_shared<ShardCollector>(shards_);
  state_collector_ = std::make_shared<StateCollector>(store_, counters_);
  add_collectable(shadow_stats_collectable());  // slipway_shadow_* (gateway/shadow.hpp)
}

Metrics::~Metrics() {
  if (global_metrics() == this) global_metrics() = nullptr;
}

MetricsShard& Metrics::add_shard() {
  shards_.push_back(std::make_unique<MetricsShard>());
  return *shards_.back();
}

void Metrics::add_collectable(std::weak_ptr<prometheus::Collectable> c) { extra_.push_back(std::move(c)); }

void Metrics::reload_applied() { reloads_applied_->Increment(); }
void Metrics::reload_rejected() { reloads_rejected_->Increment(); }

std::map<SeriesKey, SeriesTotals> Metrics::series_totals() const {
  std::map<SeriesKey, SeriesTotals> sums;
  for (const auto& shard : shards_)
    shard->for_each_series([&](const std::string& m, const std::string& v, const std::string& s, const SeriesCells& c) {
      SeriesTotals& a = sums[SeriesKey{m, v, s}];
      for (std::size_t i = 0; i < a.requests.size(); ++i) a.requests[i] += c.requests[i].get();
      for (std::size_t i = 0; i < a.findings.size(); ++i) a.findings[i] += c.findings[i].get();
      a.refusals += c.refusals.get();
      a.truncations += c.truncations.get();
    });
  return sums;
}

std::string Metrics::scrape() const {
  std::vector<MetricFamily> all = shard_collector_->Collect();
  for (auto&& f : state_collector_->Collect()) all.push_back(std::move(f));
  for (auto&& f : registry_->Collect()) all.push_back(std::move(f));
  for (const auto& weak : extra_)
    if (auto c = weak.lock())
      for (auto&& f : c->Collect()) all.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(all);
}

Metrics*& global_metrics() {
  static Metrics* instance = nullptr;
  return instance;
}

}  // namespace slipway
