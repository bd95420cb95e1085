// The outcome record: one per request, filled as the request moves through its phases and written
// once at the end (today the access log line; metrics and the rollout controller read the same record).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/runtime.hpp"
#include "gateway/split.hpp"
#include "validators/verdict.hpp"

namespace slipway {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// One failed upstream attempt (a request may have two: the canary's, then the baseline's after a fallback).
struct UpstreamErrorNote {
  std::string endpoint;              // "host:port" from the config, or "none" when no endpoint was usable
  std::string_view kind;             // to_string(UpstreamFailure), or "status_5xx"
};

struct Outcome {
  std::string request_id;
  std::string method;
  std::string path;
  std::string model;
  bool proxied = false;              // went to a backend (false: answered by the gateway itself)
  VariantKind variant = VariantKind::baseline;      // the variant the split chose
  VariantKind answered_by = VariantKind::baseline;  // differs after a fallback
  std::string fallback_reason;       // "canary_invalid", "canary_<failure>", "canary_status_5xx"
  std::optional<validators::Verdict> verdict;                 // the answer the client got
  std::optional<validators::Verdict> fallen_back_verdict;     // the canary answer we replaced
  std::string_view split_reason;
  std::string pinned_by;             // the route rule's name
  std::string endpoint;
  bool stream = false;
  int status = 0;
  std::string error_code;            // our error code, or the upstream failure kind
  int retries = 0;
  bool client_gone = false;
  std::optional<Usage> usage;
  uint64_t bytes_out = 0;
  Clock::time_point start{};
  Clock::time_point upstream_start{};
  Clock::time_point first_token{};   // first SSE event relayed (streams)
  Clock::time_point end{};
  Clock::duration upstream_elapsed{};  // waiting on backends, all attempts (gateway overhead = total - this)
  uint32_t slices = 0;               // bit i: config.slices[i] matched (gateway/slices.hpp)
  std::vector<UpstreamErrorNote> upstream_errors;
};

}  // namespace slipway
