// slipway-replay: replays a golden set against a baseline and a candidate OpenAI-compatible server, checks
// both answers with the validators library, and tells per slice whether the candidate regressed
// (docs/replay.md).
//
// Exit status: 0 no slice regressed; 1 a slice regressed past its threshold; 2 usage error, unreadable golden
// or thresholds file, no valid case, or a target unreachable.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "tools/replay/golden_case.hpp"
#include "tools/replay/report.hpp"
#include "tools/replay/runner.hpp"
#include "tools/replay/thresholds.hpp"

namespace sr = slipway::replay;

namespace {

constexpr const char* kUsage =
    "usage: slipway-replay --golden FILE.jsonl --baseline URL --candidate URL [options]\n"
    "  --golden FILE          golden set, one JSON case a line (docs/replay.md)\n"
    "  --baseline URL         e.g. http://127.0.0.1:8000 or http://host:8000/v1 (chat completions below it)\n"
    "  --candidate URL\n"
    "options:\n"
    "  --model M              send \"model\": M to both targets (default: the request's own)\n"
    "  --baseline-model M     ... to the baseline only      --candidate-model M   ... to the candidate only\n"
    "  --header 'K: V'        extra header on every request (repeatable), e.g. 'Authorization: Bearer x'\n"
    "  --concurrency N        worker threads, each with its own keep-alive clients (default 4)\n"
    "  --timeout S            per-request timeout in seconds (default 120)\n"
    "  --thresholds FILE      YAML overriding the regression thresholds (docs/replay.md)\n"
    "  --report FILE          also write the report; .json for JSON (with every case), else Markdown\n"
    "  --quiet                no Markdown report on stdout\n"
    "  --no-progress          no progress bar even on a terminal\n"
    "exit: 0 no regression, 1 a slice regressed, 2 usage / unreadable input / target unreachable\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "slipway-replay: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

bool parse_positive(const char* s, long max, long& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno || !end || *end || end == s || v < 1 || v > max) return false;
  out = v;
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string golden_path, baseline_url, candidate_url, model, baseline_model, candidate_model, thresholds_path,
      report_path;
  std::vector<std::pair<std::string, std::string>> headers;
  long concurrency = 4, timeout = 120;
  bool quiet = false, progress = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--no-progress") {
      progress = false;
    } else if (!(v = value())) {
      return usage_error(a.rfind("--", 0) == 0 ? "missing value for " + a : "unexpected argument " + a);
    } else if (a == "--golden") golden_path = v;
    else if (a == "--baseline") baseline_url = v;
    else if (a == "--candidate") candidate_url = v;
    else if (a == "--model") model = v;
    else if (a == "--baseline-model") baseline_model = v;
    else if (a == "--candidate-model") candidate_model = v;
    else if (a == "--thresholds") thresholds_path = v;
    else if (a == "--report") report_path = v;
    else if (a == "--header") {
      std::string h = v;
      auto colon = h.find(':');
      if (colon == std::string::npos || colon == 0) return usage_error("--header needs 'Name: value', got " + h);
      std::string val = h.substr(colon + 1);
      val.erase(0, val.find_first_not_of(' '));
      headers.emplace_back(h.substr(0, colon), val);
    } else if (a == "--concurrency") {
      if (!parse_positive(v, 256, concurrency)) return usage_error("--concurrency must be 1..256, got " + std::string(v));
    } else if (a == "--timeout") {
      if (!parse_positive(v, 86400, timeout)) return usage_error("--timeout must be 1..86400 seconds, got " + std::string(v));
    } else {
      return usage_error("unknown option " + a);
    }
  }
  if (golden_path.empty() || baseline_url.empty() || candidate_url.empty())
    return usage_error("--golden, --baseline and --candidate are required");

  sr::Target baseline, candidate;
  std::string error;
  if (!sr::parse_target_url(baseline_url, baseline, error)) return usage_error("--baseline " + error);
  if (!sr::parse_target_url(candidate_url, candidate, error)) return usage_error("--candidate " + error);
  baseline.label = "baseline";
  candidate.label = "candidate";
  baseline.model = baseline_model.empty() ? model : baseline_model;
  candidate.model = candidate_model.empty() ? model : candidate_model;
  baseline.headers = candidate.headers = headers;

  sr::Thresholds thresholds;
  if (!thresholds_path.empty() && !sr::load_thresholds(thresholds_path, thresholds, error)) {
    std::fprintf(stderr, "slipway-replay: thresholds: %s\n", error.c_str());
    return 2;
  }

  sr::GoldenSet golden;
  if (!sr::load_golden(golden_path, golden, error)) {
    std::fprintf(stderr, "slipway-replay: golden set: %s\n", error.c_str());
    return 2;
  }
  for (const auto& b : golden.bad_lines)
    std::fprintf(stderr, "slipway-replay: %s:%zu: skipped: %s\n", golden_path.c_str(), b.line, b.error.c_str());
  if (!golden.bad_lines.empty())
    std::fprintf(stderr, "slipway-replay: %zu bad line(s) skipped, %zu cases to run\n", golden.bad_lines.size(),
                 golden.cases.size());
  if (golden.cases.empty()) {
    std::fprintf(stderr, "slipway-replay: %s: no valid case\n", golden_path.c_str());
    return 2;
  }

  sr::RunOptions options;
  options.concurrency = static_cast<size_t>(concurrency);
  options.timeout_seconds = static_cast<int>(timeout);
  options.progress = progress && isatty(STDERR_FILENO);
  sr::RunResult run = sr::run_replay(golden, baseline, candidate, options);

  bool unreachable = false;
  for (const auto* side : {&run.baseline, &run.candidate}) {
    if (!side->unreachable()) continue;
    const bool b = side == &run.baseline;
    std::fprintf(stderr, "slipway-replay: %s %s is unreachable: %zu of %zu requests could not connect, none answered\n",
                 b ? "baseline" : "candidate", b ? baseline_url.c_str() : candidate_url.c_str(),
                 side->connect_failures, side->sent);
    unreachable = true;
  }
  if (unreachable) return 2;

  sr::Report report = sr::build_report(golden, run, thresholds, baseline, candidate);
  if (!quiet) std::cout << sr::render_markdown(report) << std::flush;
  if (!report_path.empty()) {
    std::ofstream out(report_path, std::ios::binary | std::ios::trunc);
    out << (ends_with(report_path, ".json") ? sr::render_json(report, golden, run) : sr::render_markdown(report));
    out.close();
    if (!out) {
      std::fprintf(stderr, "slipway-replay: cannot write %s: %s\n", report_path.c_str(), std::strerror(errno));
      return 2;
    }
  }
  const auto regressed = report.regressed_slices();
  if (regressed.empty()) {
    std::fprintf(stderr, "slipway-replay: no regression (%zu cases, %.1f s)\n", golden.cases.size(), run.seconds);
    return 0;
  }
  std::string names;
  for (const auto& s : regressed) names += (names.empty() ? "" : ", ") + s;
  std::fprintf(stderr, "slipway-replay: REGRESSION in %s\n", names.c_str());
  return 1;
}
