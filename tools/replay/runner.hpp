// Sends every golden case to both targets from N worker threads (each with its own validators and its own
// keep-alive clients) and evaluates both answers. A progress bar goes to stderr when it is a terminal.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "tools/replay/evaluate.hpp"
#include "tools/replay/golden_case.hpp"
#include "tools/replay/http_target.hpp"

namespace slipway::replay {

struct CaseResult {
  bool done = false;
  SideOutcome baseline;
  SideOutcome candidate;
};

struct SideTotals {
  size_t sent = 0;
  size_t responded = 0;       // any HTTP status
  size_t http_errors = 0;     // status != 200
  size_t transport_errors = 0;
  size_t connect_failures = 0;
  bool unreachable() const { return sent > 0 && responded == 0 && connect_failures > 0; }
};

struct RunOptions {
  size_t concurrency = 4;
  int timeout_seconds = 120;
  bool progress = false;  // draw the bar (stderr is a TTY)
  // Stop early when a target has failed to connect this many times without a single response: it is down,
  // and the other requests would only wait for their own connect timeouts.
  size_t unreachable_after = 3;
};

struct RunResult {
  std::vector<CaseResult> cases;  // same order as the golden set
  SideTotals baseline, candidate;
  bool stopped_early = false;     // a target was found unreachable
  double seconds = 0;
};

RunResult run_replay(const GoldenSet& golden, const Target& baseline, const Target& candidate, const RunOptions& options);

// The request body sent to a target: the case's request with "model" replaced when the target names one.
std::string request_body(const GoldenCase& c, const Target& target);

}  // namespace slipway::replay
