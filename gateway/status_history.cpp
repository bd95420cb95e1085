#include "gateway/status_history.hpp"

#include <utility>

namespace slipway {

namespace {

uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

uint64_t outcome(const SeriesTotals& t, RequestOutcome o) { return t.requests[static_cast<std::size_t>(o)]; }

}  // namespace

SliCounts sli_counts(const SeriesTotals& now, const SeriesTotals* before) {
  static const SeriesTotals zero{};
  const SeriesTotals& b = before ? *before : zero;
  auto d = [&](RequestOutcome o) { return minus(outcome(now, o), outcome(b, o)); };
  SliCounts c;
  for (std::size_t i = 0; i < kOutcomeCount; ++i) c.requests += d(static_cast<RequestOutcome>(i));
  c.judged = minus(c.requests, d(RequestOutcome::client_error) + d(RequestOutcome::client_gone));
  c.failed = d(RequestOutcome::invalid) + d(RequestOutcome::upstream_error) + d(RequestOutcome::timeout) +
             d(RequestOutcome::fallback);
  for (std::size_t k = 0; k < now.findings.size(); ++k) {
    const auto kind = static_cast<validators::FindingKind>(k);
    // Refusal and truncation are labels of an answer, not validation failures; they have their own columns.
    if (kind == validators::FindingKind::refusal || kind == validators::FindingKind::truncated) continue;
    c.findings += minus(now.findings[k], b.findings[k]);
  }
  c.refusals = minus(now.refusals, b.refusals);
  c.truncations = minus(now.truncations, b.truncations);
  return c;
}

void StatusHistory::add(int64_t unix_ms, std::map<SeriesKey, SeriesTotals> totals) {
  std::erase_if(totals, [](const auto& kv) {
    const auto& [model, variant, slice] = kv.first;
    return variant == "none" || model == "other";
  });
  samples_.push_back(StatusSample{unix_ms, std::move(totals)});
  while (samples_.size() > capacity_) samples_.pop_front();
}

}  // namespace slipway
