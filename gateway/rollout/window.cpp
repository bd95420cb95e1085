#include "gateway/rollout/window.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace slipway::rollout {

const char* to_string(RateSli s) {
  switch (s) {
    case RateSli::validation_failure: return "validation_failure";
    case RateSli::tool_call_failure: return "tool_call_failure";
    case RateSli::refusal: return "refusal";
    case RateSli::truncation: return "truncation";
    case RateSli::upstream_error: return "upstream_error";
    case RateSli::shadow_disagreement: return "shadow_disagreement";
  }
  return "?";
}

const char* to_string(LatencySli s) {
  switch (s) {
    case LatencySli::end_to_end: return "end_to_end_seconds";
    case LatencySli::time_to_first_token: return "time_to_first_token_seconds";
    case LatencySli::output_tokens: return "output_tokens";
    case LatencySli::cost_per_success: return "cost_per_success";
  }
  return "?";
}

std::size_t LatencyBins::index_of(double seconds) {
  if (!(seconds >= kMin)) return 0;  // also NaN
  const double k = std::floor(kPerOctave * std::log2(seconds / kMin));
  if (k >= static_cast<double>(kCount - 2)) return kCount - 1;
  return 1 + static_cast<std::size_t>(k);
}

double LatencyBins::lower_edge(std::size_t i) {
  if (i == 0) return 0.0;
  return kMin * std::exp2(static_cast<double>(i - 1) / kPerOctave);
}

double LatencyBins::upper_edge(std::size_t i) {
  if (i + 1 >= kCount) return std::numeric_limits<double>::infinity();
  return kMin * std::exp2(static_cast<double>(i) / kPerOctave);
}

Windows::Windows(WindowConfig cfg, std::size_t slices) : cfg_(cfg), slices_(slices) {
  if (cfg_.bucket_width <= Clock::duration::zero()) throw std::invalid_argument("bucket_width must be > 0");
  if (cfg_.buckets == 0) throw std::invalid_argument("buckets must be > 0");
  if (slices_ == 0) slices_ = 1;
  rate_.resize(kVariants * slices_ * cfg_.buckets);
  if (cfg_.distributions) lat_.resize(kVariants * slices_ * cfg_.buckets);
}

int64_t Windows::epoch_of(Clock::time_point t) const {
  const int64_t c = t.time_since_epoch().count();
  const int64_t w = cfg_.bucket_width.count();
  int64_t q = c / w;
  if (c % w != 0 && c < 0) --q;
  return q;
}

Windows::RateBucket* Windows::rate_slot(Variant v, std::size_t slice, int64_t epoch) {
  RateBucket& b = rate_[base(v, slice) + ring_index(epoch)];
  if (b.epoch == epoch) return &b;
  if (b.epoch > epoch) {  // older than what the ring now holds in this slot
    ++dropped_;
    return nullptr;
  }
  b.epoch = epoch;
  b.rate.fill(RateCount{});
  return &b;
}

Windows::LatencyBucket* Windows::latency_slot(Variant v, std::size_t slice, int64_t epoch) {
  if (lat_.empty()) return nullptr;
  LatencyBucket& b = lat_[base(v, slice) + ring_index(epoch)];
  if (b.epoch == epoch) return &b;
  if (b.epoch > epoch) {
    ++dropped_;
    return nullptr;
  }
  b.epoch = epoch;
  for (auto& h : b.lat) h.fill(0);
  return &b;
}

void Windows::observe(Variant v, std::span<const uint16_t> slices, const Observation& o,
                      Clock::time_point now) {
  const int64_t e = epoch_of(now);
  std::array<std::size_t, kLatencySlis> bins{};
  for (std::size_t k = 0; k < kLatencySlis; ++k)
    bins[k] = o.latency[k] >= 0 ? LatencyBins::index_of(o.latency[k]) : LatencyBins::kCount;
  bool any_rate = false, any_latency = false;
  for (auto r : o.rate) any_rate = any_rate || r >= 0;
  for (auto b : bins) any_latency = any_latency || b < LatencyBins::kCount;
  auto add = [&](std::size_t slice) {
    if (any_rate) {
      if (RateBucket* b = rate_slot(v, slice, e)) {
        for (std::size_t k = 0; k < kRateSlis; ++k) {
          if (o.rate[k] < 0) continue;
          ++b->rate[k].trials;
          if (o.rate[k] > 0) ++b->rate[k].failures;
        }
      }
    }
    if (any_latency) {
      if (LatencyBucket* b = latency_slot(v, slice, e)) {
        for (std::size_t k = 0; k < kLatencySlis; ++k)
          if (bins[k] < LatencyBins::kCount) ++b->lat[k][bins[k]];
      }
    }
  };
  add(0);
  for (std::size_t j = 0; j < slices.size(); ++j) {
    const std::size_t s = slices[j];
    if (s == 0 || s >= slices_) continue;
    bool dup = false;
    for (std::size_t i = 0; i < j; ++i) dup = dup || slices[i] == slices[j];
    if (!dup) add(s);
  }
}

void Windows::add_rate(Variant v, std::size_t slice, RateSli s, uint64_t trials, uint64_t failures,
                       Clock::time_point now) {
  if (slice >= slices_) return;
  if (RateBucket* b = rate_slot(v, slice, epoch_of(now))) {
    b->rate[static_cast<std::size_t>(s)].trials += trials;
    b->rate[static_cast<std::size_t>(s)].failures += failures;
  }
}

void Windows::add_latency(Variant v, std::size_t slice, LatencySli s, std::size_t bin, uint64_t count,
                          Clock::time_point now) {
  if (slice >= slices_ || bin >= LatencyBins::kCount) return;
  if (LatencyBucket* b = latency_slot(v, slice, epoch_of(now)))
    b->lat[static_cast<std::size_t>(s)][bin] += static_cast<uint32_t>(count);
}

void Windows::clip(int64_t& from, int64_t to) const {
  const auto n = static_cast<int64_t>(cfg_.buckets);
  if (to - from >= n) from = to - n + 1;
}

RateCount Windows::rate(Variant v, std::size_t slice, RateSli s, int64_t from, int64_t to) const {
  RateCount r;
  if (slice >= slices_ || from > to) return r;
  clip(from, to);
  const RateBucket* ring = &rate_[base(v, slice)];
  for (std::size_t i = 0; i < cfg_.buckets; ++i) {
    const RateBucket& b = ring[i];
    if (b.epoch < from || b.epoch > to) continue;
    r.trials += b.rate[static_cast<std::size_t>(s)].trials;
    r.failures += b.rate[static_cast<std::size_t>(s)].failures;
  }
  return r;
}

void Windows::latency(Variant v, std::size_t slice, LatencySli s, int64_t from, int64_t to,
                      Histogram& out) const {
  out.fill(0);
  if (slice >= slices_ || from > to || lat_.empty()) return;
  clip(from, to);
  const LatencyBucket* ring = &lat_[base(v, slice)];
  for (std::size_t i = 0; i < cfg_.buckets; ++i) {
    const LatencyBucket& b = ring[i];
    if (b.epoch < from || b.epoch > to) continue;
    const auto& h = b.lat[static_cast<std::size_t>(s)];
    for (std::size_t k = 0; k < LatencyBins::kCount; ++k) out[k] += h[k];
  }
}

void Windows::rate2(Variant v, std::size_t slice, RateSli s, int64_t from_outer, int64_t from_inner,
                    int64_t to, RateCount& outer, RateCount& inner) const {
  outer = inner = RateCount{};
  if (slice >= slices_ || from_outer > to) return;
  clip(from_outer, to);
  const RateBucket* ring = &rate_[base(v, slice)];
  const auto k = static_cast<std::size_t>(s);
  std::size_t idx = ring_index(from_outer);
  for (int64_t e = from_outer; e <= to; ++e, idx = idx + 1 == cfg_.buckets ? 0 : idx + 1) {
    const RateBucket& b = ring[idx];
    if (b.epoch != e) continue;
    outer.trials += b.rate[k].trials;
    outer.failures += b.rate[k].failures;
    if (e >= from_inner) {
      inner.trials += b.rate[k].trials;
      inner.failures += b.rate[k].failures;
    }
  }
}

void Windows::latency2(Variant v, std::size_t slice, LatencySli s, int64_t from_outer, int64_t from_inner,
                       int64_t to, Histogram& outer, Histogram& inner) const {
  outer.fill(0);
  inner.fill(0);
  if (slice >= slices_ || from_outer > to || lat_.empty()) return;
  clip(from_outer, to);
  const LatencyBucket* ring = &lat_[base(v, slice)];
  const auto k = static_cast<std::size_t>(s);
  std::size_t idx = ring_index(from_outer);
  for (int64_t e = from_outer; e <= to; ++e, idx = idx + 1 == cfg_.buckets ? 0 : idx + 1) {
    const LatencyBucket& b = ring[idx];
    if (b.epoch != e) continue;
    Histogram& h = e >= from_inner ? inner : outer;
    for (std::size_t i = 0; i < LatencyBins::kCount; ++i) h[i] += b.lat[k][i];
  }
  for (std::size_t i = 0; i < LatencyBins::kCount; ++i) outer[i] += inner[i];
}

RateCount Windows::rate_last(Variant v, std::size_t slice, RateSli s, Clock::duration window,
                             Clock::time_point now) const {
  const int64_t to = epoch_of(now);
  const int64_t n = std::max<int64_t>(1, (window + cfg_.bucket_width - Clock::duration(1)) / cfg_.bucket_width);
  return rate(v, slice, s, to - n + 1, to);
}

}  // namespace slipway::rollout
