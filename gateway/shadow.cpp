#include "gateway/shadow.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/client_watch.hpp"
#include "gateway/metrics.hpp"
#include "gateway/relay.hpp"
#include "gateway/rollout_service.hpp"
#include "gateway/upstream_call.hpp"

namespace slipway {

namespace net = boost::asio;
namespace json = boost::json;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

bool shadow_sampled(WorkerContext& ctx, const config::Model& model, const Outcome& out, bool validating) {
  if (!model.shadow || !model.canary || !validating || model.shadow->sample <= 0) return false;
  if (out.variant != VariantKind::baseline) return false;
  // Only the randomized split's baseline requests: a pinned request is not the canary's to answer.
  if (out.split_reason != "sticky_user" && out.split_reason != "sticky_header" && out.split_reason != "random")
    return false;
  return model.shadow->sample >= 1.0 || ctx.random_point() < model.shadow->sample;
}

std::string shadow_body(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::string(body);
  json::object& o = v.get_object();
  const json::value* stream = o.if_contains("stream");
  if (!stream || !stream->is_bool() || !stream->get_bool()) return std::string(body);
  o["stream"] = false;
  o.erase("stream_options");
  return json::serialize(v);
}

namespace {

// Holds one in-flight slot of a model until the shadow ends, however it ends (also when the worker's
// io_context is destroyed with the coroutine still suspended).
struct InFlightSlot {
  std::string model;
  explicit InFlightSlot(std::string m) : model(std::move(m)) {}
  InFlightSlot(const InFlightSlot&) = delete;
  InFlightSlot& operator=(const InFlightSlot&) = delete;
  ~InFlightSlot() { shadow_stats().end(model); }
};

net::awaitable<void> run_shadow(WorkerContext& ctx, std::unique_ptr<ShadowJob> job, std::unique_ptr<InFlightSlot> slot) {
  (void)slot;
  const config::Config& cfg = *job->snapshot->config;
  const std::string& model = job->model->config->name;
  const VariantRuntime& canary = *job->model->canary;
  auto& stats = shadow_stats();
  // Nobody waits for this answer: the watch has no client to lose.
  net::ip::tcp::socket nobody(ctx.executor);
  ClientWatch watch(nobody);
  const auto deadline = Clock::now() + cfg.timeouts.total;
  UpstreamCall call;
  co_await start_upstream_call(ctx, canary, cfg, to_upstream_request(job->request), deadline, watch, call);
  if (!call.started()) {
    stats.count(cfg, model, job->slices, ShadowStats::Result::canary_error);
    co_return;
  }
  std::string body;
  const auto failure = co_await read_whole_body(ctx, cfg, call, watch, deadline, body);
  const int status = call.parser ? static_cast<int>(call.parser->get().result_int()) : 0;
  if (failure != UpstreamFailure::none || status < 200 || status >= 300) {
    stats.count(cfg, model, job->slices, ShadowStats::Result::canary_error);
    co_return;
  }
  validators::AssembledResponse answer = validators::assemble_completion(body, cfg.validation.max_assembled_bytes);
  if (answer.upstream_error || !answer.error.empty()) {
    stats.count(cfg, model, job->slices, ShadowStats::Result::canary_error);
    co_return;
  }
  // The worker's validator, on the worker's thread: no other coroutine runs until validate() returns.
  validators::Verdict verdict = ctx.validator_for(cfg.validation).validate(job->expectations, answer);
  if (!job->baseline.usage.present && job->baseline_usage) {
    job->baseline.usage.present = true;
    job->baseline.usage.prompt_tokens = job->baseline_usage->prompt_tokens;
    job->baseline.usage.completion_tokens = job->baseline_usage->completion_tokens;
  }
  const shadow::Comparison c =
      shadow::compare_answers(job->expectations, {job->baseline, job->baseline_verdict}, {answer, verdict});
  stats.count(cfg, model, job->slices, ShadowStats::Result::compared);
  stats.count_comparison(cfg, model, job->slices, c);
  if (ctx.rollout) {
    const auto index = static_cast<std::size_t>(job->model->config - cfg.models.data());
    ctx.rollout->observe_shadow(cfg, index, job->slices, c.any_disagreement());
  }
  if (ctx.log.enabled(LogLevel::debug)) {
    json::object f{{"request_id", std::string(job->request["x-request-id"].data(), job->request["x-request-id"].size())}, {"model", model},
                   {"validity", shadow::to_string(c.validity)}};
    json::array disagree;
    for (std::size_t i = 0; i < shadow::kAspects; ++i)
      if (c.agree[i] && !*c.agree[i]) disagree.push_back(json::string(shadow::to_string(static_cast<shadow::Aspect>(i))));
    f["disagree"] = std::move(disagree);
    if (c.length_ratio) f["length_ratio"] = *c.length_ratio;
    ctx.log.write(LogLevel::debug, "shadow", f);
  }
}

}  // namespace

void start_shadow(WorkerContext& ctx, const Outcome& out, ShadowJob job) {
  if (!job.model || !job.model->canary || !job.model->config->shadow) return;
  if (out.answered_by != VariantKind::baseline || out.status < 200 || out.status >= 300 || out.client_gone ||
      !out.error_code.empty())
    return;
  const config::Config& cfg = *job.snapshot->config;
  const std::string& model = job.model->config->name;
  if (!shadow_stats().try_begin(cfg, model, job.slices, job.model->config->shadow->max_inflight)) return;
  auto slot = std::make_unique<InFlightSlot>(model);
  job.request.body() = shadow_body(job.request.body());
  job.request.set("x-slipway-shadow", "1");
  job.request.prepare_payload();
  auto owned = std::make_unique<ShadowJob>(std::move(job));
  // Detached: the request that sampled it has already been answered and recorded.
  net::co_spawn(ctx.executor, run_shadow(ctx, std::move(owned), std::move(slot)), [](std::exception_ptr) {});
}

// ---------------------------------------------------------------------------------------------------
// ShadowStats

template <class F>
void ShadowStats::for_slices(const config::Config& cfg, const std::string& model, uint32_t slices, F&& f) {
  f(cells_[{model, "all"}]);
  for (std::size_t i = 0; i < cfg.slices.size() && i < 32; ++i)
    if (slices & (uint32_t{1} << i)) f(cells_[{model, cfg.slices[i].name}]);
}

bool ShadowStats::try_begin(const config::Config& cfg, const std::string& model, uint32_t slices, int max_inflight) {
  std::lock_guard lock(mutex_);
  int& n = in_flight_[model];
  if (n >= max_inflight) {
    for_slices(cfg, model, slices, [](Cells& c) { ++c.requests[static_cast<std::size_t>(Result::dropped_full)]; });
    return false;
  }
  ++n;
  return true;
}

void ShadowStats::end(const std::string& model) {
  std::lock_guard lock(mutex_);
  auto it = in_flight_.find(model);
  if (it != in_flight_.end() && it->second > 0) --it->second;
}

int ShadowStats::in_flight(const std::string& model) const {
  std::lock_guard lock(mutex_);
  auto it = in_flight_.find(model);
  return it == in_flight_.end() ? 0 : it->second;
}

void ShadowStats::count(const config::Config& cfg, const std::string& model, uint32_t slices, Result r) {
  std::lock_guard lock(mutex_);
  for_slices(cfg, model, slices, [&](Cells& c) { ++c.requests[static_cast<std::size_t>(r)]; });
}

void ShadowStats::count_comparison(const config::Config& cfg, const std::string& model, uint32_t slices,
                                   const shadow::Comparison& cmp) {
  std::size_t bucket = kRatioBuckets.size();
  if (cmp.length_ratio) {
    bucket = 0;
    while (bucket < kRatioBuckets.size() && *cmp.length_ratio > kRatioBuckets[bucket]) ++bucket;
  }
  std::lock_guard lock(mutex_);
  for_slices(cfg, model, slices, [&](Cells& c) {
    for (std::size_t i = 0; i < shadow::kAspects; ++i)
      if (cmp.agree[i]) ++c.agreement[i][*cmp.agree[i] ? 1 : 0];
    if (cmp.length_ratio) {
      ++c.ratio[bucket];
      c.ratio_sum += *cmp.length_ratio;
    }
  });
}

std::vector<MetricFamily> ShadowStats::Collect() const {
  auto requests = family("slipway_shadow_requests_total",
                         "Shadow requests (baseline requests mirrored to the canary) by result: compared, dropped_full, canary_error.",
                         MetricType::Counter);
  auto agreement = family("slipway_shadow_agreement_total",
                          "Compared shadows by aspect and whether the canary's answer agreed with the baseline's.",
                          MetricType::Counter);
  auto ratio = family("slipway_shadow_length_ratio",
                      "Canary completion tokens / baseline completion tokens, per compared shadow.", MetricType::Histogram);
  auto in_flight = family("slipway_shadow_in_flight", "Shadow requests in flight (all workers).", MetricType::Gauge);
  static constexpr std::array<std::string_view, kResults> kResultNames = {"compared", "dropped_full", "canary_error"};
  std::lock_guard lock(mutex_);
  for (const auto& [key, c] : cells_) {
    const auto& [model, slice] = key;
    for (std::size_t i = 0; i < kResults; ++i)
      requests.metric.push_back(value_metric({{"model", model}, {"slice", slice}, {"result", std::string(kResultNames[i])}},
                                             static_cast<double>(c.requests[i]), MetricType::Counter));
    for (std::size_t a = 0; a < shadow::kAspects; ++a)
      for (int agree = 1; agree >= 0; --agree)
        agreement.metric.push_back(value_metric({{"model", model}, {"slice", slice},
                                                 {"aspect", std::string(shadow::to_string(static_cast<shadow::Aspect>(a)))},
                                                 {"agree", agree ? "true" : "false"}},
                                                static_cast<double>(c.agreement[a][agree]), MetricType::Counter));
    ClientMetric h;
    h.label = {{"model", model}, {"slice", slice}};
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kRatioBuckets.size(); ++i) {
      cumulative += c.ratio[i];
      h.histogram.bucket.push_back({cumulative, kRatioBuckets[i]});
    }
    cumulative += c.ratio[kRatioBuckets.size()];
    h.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    h.histogram.sample_count = cumulative;
    h.histogram.sample_sum = c.ratio_sum;
    ratio.metric.push_back(std::move(h));
  }
  for (const auto& [model, n] : in_flight_)
    in_flight.metric.push_back(value_metric({{"model", model}}, n, MetricType::Gauge));
  return {std::move(requests), std::move(agreement), std::move(ratio), std::move(in_flight)};
}

namespace {
std::shared_ptr<ShadowStats>& instance() {
  static auto stats = std::make_shared<ShadowStats>();
  return stats;
}
}  // namespace

ShadowStats& shadow_stats() { return *instance(); }
std::shared_ptr<prometheus::Collectable> shadow_stats_collectable() { return instance(); }

}  // namespace slipway
