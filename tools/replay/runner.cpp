#include "tools/replay/runner.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <boost/json/serialize.hpp>

#include "validators/validator.hpp"

namespace slipway::replay {

std::string request_body(const GoldenCase& c, const Target& target) {
  if (target.model.empty()) return boost::json::serialize(c.request);
  boost::json::object req = c.request;
  req["model"] = target.model;
  return boost::json::serialize(req);
}

namespace {

struct Shared {
  const GoldenSet& golden;
  const Target& baseline;
  const Target& candidate;
  const RunOptions& options;
  std::vector<CaseResult>& results;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex totals_mu;
  SideTotals baseline_totals, candidate_totals;
};

void count(Shared& s, SideTotals& t, const HttpReply& r) {
  std::lock_guard lock(s.totals_mu);
  ++t.sent;
  if (r.responded) {
    ++t.responded;
    if (r.status != 200) ++t.http_errors;
  } else {
    ++t.transport_errors;
    if (r.connect_failed) ++t.connect_failures;
  }
  if (t.responded == 0 && t.connect_failures >= s.options.unreachable_after) s.stop = true;
}

void worker(Shared& s) {
  validators::Validator validator;
  TargetClient baseline(s.baseline, s.options.timeout_seconds);
  TargetClient candidate(s.candidate, s.options.timeout_seconds);
  for (;;) {
    if (s.stop) return;
    const size_t i = s.next.fetch_add(1);
    if (i >= s.golden.cases.size()) return;
    const GoldenCase& c = s.golden.cases[i];
    // The same request id on both sides: a deterministic backend (the simulator, a seeded server) then gives
    // both the same draw, so only the model's difference shows.
    auto headers = c.headers;
    headers.emplace_back("x-request-id", "replay-" + c.id);
    HttpReply b = baseline.post_chat(request_body(c, s.baseline), headers);
    count(s, s.baseline_totals, b);
    HttpReply k = candidate.post_chat(request_body(c, s.candidate), headers);
    count(s, s.candidate_totals, k);
    CaseResult& out = s.results[i];
    out.baseline = evaluate(c, b, validator);
    out.candidate = evaluate(c, k, validator);
    out.done = true;
    s.done.fetch_add(1);
  }
}

void draw_bar(size_t done, size_t total, const SideTotals& b, const SideTotals& c, double seconds) {
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r[%s] %zu/%zu cases  %.1fs  errors: baseline %zu, candidate %zu ", bar.c_str(), done, total,
               seconds, b.http_errors + b.transport_errors, c.http_errors + c.transport_errors);
  std::fflush(stderr);
}

}  // namespace

RunResult run_replay(const GoldenSet& golden, const Target& baseline, const Target& candidate, const RunOptions& options) {
  RunResult out;
  out.cases.resize(golden.cases.size());
  Shared s{golden, baseline, candidate, options, out.cases};
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  const size_t n = std::max<size_t>(1, std::min(options.concurrency, golden.cases.size()));
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t i = 0; i < n; ++i) threads.emplace_back(worker, std::ref(s));

  if (options.progress) {
    while (s.done.load() < golden.cases.size() && !s.stop) {
      {
        std::lock_guard lock(s.totals_mu);
        draw_bar(s.done.load(), golden.cases.size(), s.baseline_totals, s.candidate_totals, elapsed());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  for (auto& t : threads) t.join();
  if (options.progress) {
    draw_bar(s.done.load(), golden.cases.size(), s.baseline_totals, s.candidate_totals, elapsed());
    std::fputc('\n', stderr);
  }
  out.baseline = s.baseline_totals;
  out.candidate = s.candidate_totals;
  out.stopped_early = s.stop;
  out.seconds = elapsed();
  return out;
}

}  // namespace slipway::replay
