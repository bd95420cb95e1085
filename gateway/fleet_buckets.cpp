#include "gateway/fleet_buckets.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace slipway::fleet {

using rollout::Clock;
using rollout::kLatencySlis;
using rollout::kRateSlis;
using rollout::LatencyBins;
using rollout::LatencySli;
using rollout::RateSli;
using rollout::Variant;

Clock::time_point wall_now() {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::system_clock::now().time_since_epoch()));
}

Clock::time_point epoch_start(int64_t epoch, Clock::duration width) { return Clock::time_point(width * epoch); }

std::string bucket_key(std::string_view prefix, std::string_view model, std::string_view revision, int64_t epoch) {
  std::string k;
  k.reserve(prefix.size() + model.size() + revision.size() + 24);
  k.append(prefix).append(":w:").append(model).append(":").append(revision).append(":").append(std::to_string(epoch));
  return k;
}

std::string state_key(std::string_view prefix, std::string_view model, std::string_view revision) {
  std::string k(prefix);
  k.append(":state:").append(model).append(":").append(revision);
  return k;
}

std::string events_channel(std::string_view prefix) { return std::string(prefix) + ":events"; }
std::string replicas_key(std::string_view prefix) { return std::string(prefix) + ":replicas"; }

namespace {

constexpr Variant kVariantList[] = {Variant::baseline, Variant::canary};
char variant_char(Variant v) { return v == Variant::canary ? 'c' : 'b'; }

std::string_view slice_name(std::size_t slice, std::span<const std::string> names) {
  return slice == 0 ? std::string_view("all") : std::string_view(names[slice - 1]);
}

// Splits "a|b|c" into at most n parts.
std::size_t split(std::string_view s, std::string_view* parts, std::size_t n) {
  std::size_t k = 0;
  while (k < n) {
    auto bar = s.find('|');
    parts[k++] = s.substr(0, bar);
    if (bar == std::string_view::npos) return k;
    s.remove_prefix(bar + 1);
  }
  return k + 1;  // more parts than expected
}

}  // namespace

void bucket_fields(const rollout::Windows& w, int64_t epoch, std::span<const std::string> slice_names,
                   std::vector<Field>& out) {
  const std::size_t slices = std::min(w.slices(), slice_names.size() + 1);
  rollout::Histogram h;
  for (Variant v : kVariantList) {
    for (std::size_t s = 0; s < slices; ++s) {
      std::string head = std::string(1, variant_char(v)) + "|" + std::string(slice_name(s, slice_names)) + "|";
      for (std::size_t k = 0; k < kRateSlis; ++k) {
        const auto c = w.rate(v, s, static_cast<RateSli>(k), epoch, epoch);
        if (c.trials == 0 && c.failures == 0) continue;
        const std::string base = "r|" + head + rollout::to_string(static_cast<RateSli>(k)) + "|";
        out.emplace_back(base + "t", static_cast<int64_t>(c.trials));
        if (c.failures) out.emplace_back(base + "f", static_cast<int64_t>(c.failures));
      }
      if (!w.config().distributions) continue;
      for (std::size_t k = 0; k < kLatencySlis; ++k) {
        w.latency(v, s, static_cast<LatencySli>(k), epoch, epoch, h);
        std::string base;
        for (std::size_t b = 0; b < LatencyBins::kCount; ++b) {
          if (!h[b]) continue;
          if (base.empty()) base = "l|" + head + rollout::to_string(static_cast<LatencySli>(k)) + "|";
          out.emplace_back(base + std::to_string(b), static_cast<int64_t>(h[b]));
        }
      }
    }
  }
}

std::size_t add_fields(rollout::Windows& w, int64_t epoch, std::span<const std::string> slice_names,
                       std::span<const Field> fields) {
  const Clock::time_point at = epoch_start(epoch, w.config().bucket_width);
  std::size_t skipped = 0;
  for (const auto& [name, value] : fields) {
    std::string_view p[5];
    if (split(name, p, 5) != 5 || value <= 0 || (p[1] != "c" && p[1] != "b")) {
      ++skipped;
      continue;
    }
    const Variant v = p[1] == "c" ? Variant::canary : Variant::baseline;
    std::size_t slice = SIZE_MAX;
    if (p[2] == "all") {
      slice = 0;
    } else {
      auto it = std::find(slice_names.begin(), slice_names.end(), p[2]);
      if (it != slice_names.end()) slice = static_cast<std::size_t>(it - slice_names.begin()) + 1;
    }
    if (slice >= w.slices()) {
      ++skipped;
      continue;
    }
    const auto count = static_cast<uint64_t>(value);
    if (p[0] == "r") {
      std::size_t k = 0;
      while (k < kRateSlis && p[3] != rollout::to_string(static_cast<RateSli>(k))) ++k;
      if (k == kRateSlis || (p[4] != "t" && p[4] != "f")) {
        ++skipped;
        continue;
      }
      if (p[4] == "t") w.add_rate(v, slice, static_cast<RateSli>(k), count, 0, at);
      else w.add_rate(v, slice, static_cast<RateSli>(k), 0, count, at);
    } else if (p[0] == "l") {
      std::size_t k = 0;
      while (k < kLatencySlis && p[3] != rollout::to_string(static_cast<LatencySli>(k))) ++k;
      std::size_t bin = 0;
      auto [ptr, ec] = std::from_chars(p[4].data(), p[4].data() + p[4].size(), bin);
      if (k == kLatencySlis || ec != std::errc() || ptr != p[4].data() + p[4].size() || bin >= LatencyBins::kCount ||
          !w.config().distributions) {
        ++skipped;
        continue;
      }
      w.add_latency(v, slice, static_cast<LatencySli>(k), bin, count, at);
    } else {
      ++skipped;
    }
  }
  return skipped;
}

}  // namespace slipway::fleet
