// The status page's recent history: a ring of counter samples (requests by outcome, findings, refusals,
// truncations per model, variant and slice), one every kInterval, taken on the control thread by the admin
// listener. The page draws its charts from the differences between consecutive samples, so memory is
// bounded (kSamples x cells) and nothing is added to the request path.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>

#include "gateway/metrics.hpp"

namespace slipway {

// What the page shows per (model, variant, slice) over an interval.
struct SliCounts {
  uint64_t requests = 0;     // every outcome
  uint64_t judged = 0;       // requests minus client_error and client_gone: the denominator of the rates
  uint64_t failed = 0;       // invalid + upstream_error + timeout + fallback (as docs/metrics.md's failure rate)
  uint64_t findings = 0;     // failing validation findings (every kind but refusal and truncated), one per kind per answer
  uint64_t refusals = 0;
  uint64_t truncations = 0;
};
// Counts between two samples of the same series (`before` null: since the process started). Saturates at 0.
SliCounts sli_counts(const SeriesTotals& now, const SeriesTotals* before);

struct StatusSample {
  int64_t unix_ms = 0;
  std::map<SeriesKey, SeriesTotals> totals;   // baseline and canary of configured models only
};

class StatusHistory {
 public:
  static constexpr std::size_t kSamples = 60;
  static constexpr std::chrono::seconds kInterval{5};

  explicit StatusHistory(std::size_t capacity = kSamples) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Appends a sample, dropping the oldest when full. Series of variant "none" and model "other" are left
  // out: the page does not show them.
  void add(int64_t unix_ms, std::map<SeriesKey, SeriesTotals> totals);
  const std::deque<StatusSample>& samples() const { return samples_; }
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::deque<StatusSample> samples_;
};

}  // namespace slipway
