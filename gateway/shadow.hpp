// Shadow comparison, the gateway's part (docs/shadow.md). A sampled request that the split sent to the
// baseline is, after the client's answer is complete, also sent to the canary in the background (from the
// worker's own executor and upstream pool, as a non-streaming request marked `x-slipway-shadow: 1`). Both
// answers go through the validators and are compared (gateway/shadow_compare.hpp); the result feeds the
// slipway_shadow_* metrics and the shadow_disagreement_rate rollback trigger. The client never waits for a
// shadow, and a shadow is never counted as user traffic of the canary.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <prometheus/collectable.h>

#include "gateway/outcome.hpp"
#include "gateway/shadow_compare.hpp"
#include "gateway/worker_context.hpp"
#include "validators/assembled_response.hpp"
#include "validators/request_expectations.hpp"
#include "validators/verdict.hpp"

namespace slipway {

// Decided at the split, so that only a sampled request keeps its assembled answer: the model has a
// `shadow` block, the randomized split chose the baseline (not pinned, not passthrough, not a model without
// canary), the validators run (they judge both answers), and the draw falls under `shadow.sample`.
bool shadow_sampled(WorkerContext& ctx, const config::Model& model, const Outcome& out, bool validating);

// What the background comparison owns: copies, so nothing refers to the finished request.
struct ShadowJob {
  std::shared_ptr<const Snapshot> snapshot;  // keeps the config, the model and the canary's endpoints alive
  const ModelRuntime* model = nullptr;       // in snapshot
  boost::beast::http::request<boost::beast::http::string_body> request;  // as it would go to the canary
  validators::Expectations expectations;
  validators::AssembledResponse baseline;    // the answer the client got
  validators::Verdict baseline_verdict;
  std::optional<Usage> baseline_usage;       // the gateway's count (a stream's usage chunk is not assembled)
  uint32_t slices = 0;                       // bit i: config.slices[i]
};

// Called once the client's answer is complete. Starts the shadow on ctx's executor and returns at once;
// drops it (counted as dropped_full) when the model already has shadow.max_inflight shadows in flight.
// Does nothing unless `out` is a whole 2xx baseline answer that was validated.
void start_shadow(WorkerContext& ctx, const Outcome& out, ShadowJob job);

// The canary's copy of a request body: a streaming request becomes non-streaming ("stream": false,
// stream_options dropped); any other body is returned unchanged (same bytes as the baseline got).
std::string shadow_body(std::string_view body);

// Process-wide shadow bookkeeping: in-flight counts per model (the bound is per model, over all workers)
// and the slipway_shadow_* metric families. A small mutex-protected map: shadow traffic is sampled, so
// this is not the hot path of unsampled requests (they never touch it).
class ShadowStats final : public prometheus::Collectable {
 public:
  enum class Result : uint8_t { compared, dropped_full, canary_error };
  static constexpr std::size_t kResults = 3;
  static constexpr std::array<double, 10> kRatioBuckets = {0.25, 0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 2, 3, 4};

  // Takes an in-flight slot for `model` unless `max_inflight` are taken (then counts dropped_full).
  bool try_begin(const config::Config& cfg, const std::string& model, uint32_t slices, int max_inflight);
  void end(const std::string& model);
  void count(const config::Config& cfg, const std::string& model, uint32_t slices, Result r);
  void count_comparison(const config::Config& cfg, const std::string& model, uint32_t slices,
                        const shadow::Comparison& c);
  int in_flight(const std::string& model) const;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Cells {
    std::array<uint64_t, kResults> requests{};
    std::array<std::array<uint64_t, 2>, shadow::kAspects> agreement{};  // [aspect][agree]
    std::array<uint64_t, kRatioBuckets.size() + 1> ratio{};               // non-cumulative; last is +Inf
    double ratio_sum = 0;
  };
  template <class F>
  void for_slices(const config::Config& cfg, const std::string& model, uint32_t slices, F&& f);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Cells> cells_;  // (model, slice)
  std::map<std::string, int, std::less<>> in_flight_;
};

// The process's instance (its collector is part of every /metrics scrape).
ShadowStats& shadow_stats();
std::shared_ptr<prometheus::Collectable> shadow_stats_collectable();

}  // namespace slipway
