// Sliding windows for the rollout judge: a ring of short buckets per (variant, slice), each bucket holding
// success/failure counts for the rate SLIs and fixed log-spaced histograms for the latency SLIs.
// Pure and I/O-free; time is passed in. Memory is allocated once in the constructor; observe() never
// allocates. Not internally synchronized: one writer at a time (the caller locks, or keeps one Windows per
// worker and merges with add_from()).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace slipway::rollout {

using Clock = std::chrono::steady_clock;

enum class Variant : uint8_t { baseline = 0, canary = 1 };
inline constexpr std::size_t kVariants = 2;

// Binary SLIs: each request is a trial (when the SLI applies to it) and maybe a failure.
// shadow_disagreement is fed for the canary only (one trial per compared shadow, gateway/shadow.cpp); the
// controller judges it against a zero-rate reference (controller.cpp, run()).
enum class RateSli : uint8_t { validation_failure, tool_call_failure, refusal, truncation, upstream_error,
                               shadow_disagreement };
inline constexpr std::size_t kRateSlis = 6;
const char* to_string(RateSli s);

// Distribution SLIs ("latency" for short): histograms over fixed log-spaced bins. The bins are in seconds;
// non-time SLIs are scaled into the bins' range by the caller (output tokens / 1000, cost * 1000), so one
// bin still spans about 9 % of the value.
enum class LatencySli : uint8_t { end_to_end, time_to_first_token, output_tokens, cost_per_success };
inline constexpr std::size_t kLatencySlis = 4;
const char* to_string(LatencySli s);

// Bins: 0 is [0, 1 ms); bin i in 1..kCount-2 is [1 ms * r^(i-1), 1 ms * r^i) with r = 2^(1/8) (about 9 %
// wide); the last bin is everything from 1 ms * r^(kCount-2) (about 110 s) up.
struct LatencyBins {
  static constexpr std::size_t kCount = 140;
  static constexpr double kMin = 1e-3;
  static constexpr double kPerOctave = 8.0;
  static std::size_t index_of(double seconds);
  static double lower_edge(std::size_t i);  // 0 for bin 0
  static double upper_edge(std::size_t i);  // +inf for the last bin
};
using Histogram = std::array<uint64_t, LatencyBins::kCount>;

struct RateCount {
  uint64_t trials = 0;
  uint64_t failures = 0;
};

// One request's outcome, per SLI. rate[i]: -1 = the SLI does not apply, 0 = success, 1 = failure.
// latency[i]: seconds, negative = not measured (e.g. no first token).
struct Observation {
  std::array<int8_t, kRateSlis> rate{-1, -1, -1, -1, -1, -1};
  std::array<double, kLatencySlis> latency{-1.0, -1.0, -1.0, -1.0};

  Observation& set(RateSli s, bool failed) {
    rate[static_cast<std::size_t>(s)] = failed ? 1 : 0;
    return *this;
  }
  Observation& set(LatencySli s, double seconds) {
    latency[static_cast<std::size_t>(s)] = seconds;
    return *this;
  }
};

struct WindowConfig {
  Clock::duration bucket_width = std::chrono::seconds(30);
  std::size_t buckets = 120;  // ring span = bucket_width * buckets (default 1 h)
  bool distributions = true;  // false: no histograms are kept (no distribution trigger needs them)
};

class Windows {
 public:
  // slices: number of slices including slice 0 ("all").
  Windows(WindowConfig cfg, std::size_t slices);

  // Adds one request to slice 0 and to each listed slice (0 and duplicates in the list are ignored).
  // Slices out of range are ignored. Observations older than the ring are dropped (counted).
  void observe(Variant v, std::span<const uint16_t> slices, const Observation& o, Clock::time_point now);

  // Bulk forms (harness, merging): add counts to one slice only.
  void add_rate(Variant v, std::size_t slice, RateSli s, uint64_t trials, uint64_t failures,
                Clock::time_point now);
  void add_latency(Variant v, std::size_t slice, LatencySli s, std::size_t bin, uint64_t count,
                   Clock::time_point now);

  // The bucket index ("epoch") a time falls in.
  int64_t epoch_of(Clock::time_point t) const;

  // Sums over the buckets whose epoch lies in [from_epoch, to_epoch]; a range longer than the ring is
  // clipped to the ring's most recent buckets.
  RateCount rate(Variant v, std::size_t slice, RateSli s, int64_t from_epoch, int64_t to_epoch) const;
  void latency(Variant v, std::size_t slice, LatencySli s, int64_t from_epoch, int64_t to_epoch,
               Histogram& out) const;
  // Two nested ranges in one pass: outer = [from_outer, to], inner = [from_inner, to] (from_inner >= from_outer).
  void rate2(Variant v, std::size_t slice, RateSli s, int64_t from_outer, int64_t from_inner, int64_t to,
             RateCount& outer, RateCount& inner) const;
  void latency2(Variant v, std::size_t slice, LatencySli s, int64_t from_outer, int64_t from_inner, int64_t to,
                Histogram& outer, Histogram& inner) const;

  // Convenience: the last `window` up to now (whole buckets, current one included).
  RateCount rate_last(Variant v, std::size_t slice, RateSli s, Clock::duration window,
                      Clock::time_point now) const;

  std::size_t slices() const { return slices_; }
  const WindowConfig& config() const { return cfg_; }
  uint64_t dropped() const { return dropped_; }
  std::size_t memory_bytes() const {
    return rate_.size() * sizeof(RateBucket) + lat_.size() * sizeof(LatencyBucket);
  }

 private:
  // Rates and latency histograms live in separate rings so that summing rates stays in cache.
  struct RateBucket {
    int64_t epoch = INT64_MIN;
    std::array<RateCount, kRateSlis> rate{};
  };
  struct LatencyBucket {
    int64_t epoch = INT64_MIN;
    std::array<std::array<uint32_t, LatencyBins::kCount>, kLatencySlis> lat{};
  };
  std::size_t base(Variant v, std::size_t slice) const {
    return (static_cast<std::size_t>(v) * slices_ + slice) * cfg_.buckets;
  }
  std::size_t ring_index(int64_t epoch) const {
    const auto n = static_cast<int64_t>(cfg_.buckets);
    return static_cast<std::size_t>(((epoch % n) + n) % n);
  }
  RateBucket* rate_slot(Variant v, std::size_t slice, int64_t epoch);
  LatencyBucket* latency_slot(Variant v, std::size_t slice, int64_t epoch);
  void clip(int64_t& from, int64_t to) const;

  WindowConfig cfg_;
  std::size_t slices_;
  std::vector<RateBucket> rate_;
  std::vector<LatencyBucket> lat_;
  uint64_t dropped_ = 0;
};

}  // namespace slipway::rollout
