// Metrics: the quality SLIs of docs/metrics.md, fed from the outcome record only.
//
// Hot path: every worker thread owns a MetricsShard. A shard's cells are plain single-writer atomics
// (a relaxed load + store, no lock prefix, no shared cache line with another worker); record() finds the
// cells of (model, variant, slice) through an index table built once per config generation, so no
// label string is built or hashed per request. A scrape (admin listener, control thread) sums the shards
// through a custom prometheus::Collectable and serialises with prometheus-cpp's TextSerializer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include "gateway/outcome.hpp"
#include "gateway/slices.hpp"
#include "validators/verdict.hpp"

namespace slipway {

struct GatewayCounters;

enum class RequestOutcome { ok, invalid, upstream_error, timeout, client_error, fallback, client_gone };
inline constexpr std::size_t kOutcomeCount = 7;
std::string_view to_string(RequestOutcome);
RequestOutcome classify_outcome(const Outcome& out);

// Fallback reasons (Outcome::fallback_reason), a closed list; anything else is "other".
inline constexpr std::array<std::string_view, 10> kFallbackReasons = {
    "canary_invalid", "canary_status_5xx", "canary_no_endpoint", "canary_connect", "canary_first_byte_timeout",
    "canary_stream_idle_timeout", "canary_total_timeout", "canary_broken", "canary_too_large", "other"};
std::size_t fallback_reason_index(std::string_view reason);

// Histogram bucket upper bounds (le); +Inf is implicit.
inline constexpr std::array<double, 14> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                           1, 2.5, 5, 10, 30, 60, 120};
inline constexpr std::array<double, 11> kOverheadBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                            0.005, 0.01, 0.025, 0.05, 0.1};
inline constexpr std::array<double, 11> kTokenBuckets = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};

// Written by one thread only (the shard's worker): load + store, no read-modify-write instruction.
struct LocalCounter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t d = 1) { v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};
struct LocalSum {
  std::atomic<double> v{0.0};
  void add(double d) { v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed); }
  double get() const { return v.load(std::memory_order_relaxed); }
};
template <std::size_t N>
struct LocalHistogram {
  std::array<LocalCounter, N + 1> buckets;  // non-cumulative; [N] is +Inf
  LocalSum sum;
  void observe(double x, const std::array<double, N>& bounds) {
    std::size_t i = 0;
    while (i < N && x > bounds[i]) ++i;
    buckets[i].add();
    sum.add(x);
  }
};

// Everything counted for one (model, variant, slice).
struct SeriesCells {
  std::array<LocalCounter, kOutcomeCount> requests;
  std::array<LocalCounter, validators::kFindingKindCount> findings;
  LocalCounter tool_calls_valid, tool_calls_invalid, refusals, truncations, empty;
  LocalCounter prompt_tokens, completion_tokens;
  LocalSum cost;
  LocalHistogram<kLatencyBuckets.size()> duration, ttft;
  LocalHistogram<kOverheadBuckets.size()> overhead;
  LocalHistogram<kTokenBuckets.size()> output_tokens;
  std::array<LocalCounter, kFallbackReasons.size()> fallbacks;  // used on slice="all" cells only
};

// Read-only totals of one (model, variant, slice), summed over the shards (the status page's numbers).
struct SeriesTotals {
  std::array<uint64_t, kOutcomeCount> requests{};                     // by RequestOutcome
  std::array<uint64_t, validators::kFindingKindCount> findings{};     // by validators::FindingKind
  uint64_t refusals = 0, truncations = 0;
};
using SeriesKey = std::tuple<std::string, std::string, std::string>;  // model, variant, slice

// Variant label values: "none" is a request that never reached the split (bad input, unknown model).
inline constexpr std::array<std::string_view, 3> kVariantLabels = {"baseline", "canary", "none"};

// What record() needs besides the Outcome: resolved at admission / classify.
struct RecordInput {
  const Outcome& out;
  const config::Config& cfg;
  std::size_t model_index;   // index in cfg.models, or cfg.models.size() for "other"
  SliceMask slices;
  bool counted;              // false for local endpoints (health, /metrics, 404s): not a request of ours
};

class MetricsShard {
 public:
  // Owner thread only.
  void record(const RecordInput& in);

  // Any thread (scrape): calls f(model, variant, slice, cells) for every series, under the shard's lock.
  template <class F>
  void for_each_series(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, cells] : series_) f(std::get<0>(key), std::get<1>(key), std::get<2>(key), *cells);
  }
  template <class F>
  void for_each_upstream_error(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, c] : upstream_errors_) f(key.first, key.second, c->get());
  }

 private:
  struct Table {
    uint64_t generation = UINT64_MAX;
    const config::Config* cfg = nullptr;
    std::size_t models = 0, slices = 0;       // models + 1 ("other"), slices + 1 ("all")
    std::vector<SeriesCells*> cells;          // [(model * 3 + variant) * slices + slice]
  };
  Table& table_for(const config::Config& cfg);
  SeriesCells* cells_for(const std::string& model, std::string_view variant, const std::string& slice);
  void count_upstream_error(std::string_view endpoint, std::string_view kind);

  mutable std::mutex mutex_;  // guards the maps (inserts by the owner, reads by a scrape)
  std::map<std::tuple<std::string, std::string, std::string>, std::unique_ptr<SeriesCells>> series_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<LocalCounter>> upstream_errors_;
  std::array<Table, 2> tables_;               // current and previous generation (requests in flight)
  unsigned next_table_ = 0;
};

// Process-wide: shards, control-plane counters, and the exposition.
class Metrics {
 public:
  Metrics(SnapshotStore& store, GatewayCounters& counters);
  ~Metrics();

  // Called before the workers start; a shard lives as long as Metrics.
  MetricsShard& add_shard();

  // Config reloads by result (control thread).
  void reload_applied();
  void reload_rejected();

  // More metric families for the exposition (the rollout service's); called before the workers start.
  void add_collectable(std::weak_ptr<prometheus::Collectable> c);

  // Prometheus text exposition format 0.0.4.
  std::string scrape() const;
  // Requests by outcome, findings, refusals and truncations per (model, variant, slice), summed over the
  // shards like a scrape (any thread; the status page samples it on the control thread).
  std::map<SeriesKey, SeriesTotals> series_totals() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  class ShardCollector;
  class StateCollector;
  SnapshotStore& store_;
  GatewayCounters& counters_;
  std::vector<std::unique_ptr<MetricsShard>> shards_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* reloads_applied_ = nullptr;
  prometheus::Counter* reloads_rejected_ = nullptr;
  std::shared_ptr<ShardCollector> shard_collector_;
  std::shared_ptr<StateCollector> state_collector_;
  std::vector<std::weak_ptr<prometheus::Collectable>> extra_;
};

// Building blocks for collectors: one sample with labels, and an empty family.
prometheus::ClientMetric value_metric(std::vector<prometheus::ClientMetric::Label> labels, double value,
                                      prometheus::MetricType type);
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type);

// The process-wide instance the config reloader reports to (set by Server; null in unit tests).
Metrics*& global_metrics();

}  // namespace slipway
