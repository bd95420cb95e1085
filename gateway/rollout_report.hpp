// How the rollout's numbers are written for people and tools: times as ISO 8601, an SLI as its label, a
// test's numbers as JSON. Shared by the admin state (rollout_state.cpp) and the rollback's log line and state
// file (rollout_service.cpp).
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include "gateway/rollout/controller.hpp"
#include "gateway/rollout/judge.hpp"

namespace slipway {

// "2026-12-07T18:46:01.123Z"; empty for a time that is not set (≤ 0).
std::string iso8601(int64_t unix_ms);

// "refusal_rate", "ttft:p99", ...
std::string sli_label(const rollout::TriggerSpec& t);

// The state file's form of a test's numbers, made safe for JSON (no NaN or infinity) and with the
// distribution SLIs' values unscaled by `scale` (value_scale of the trigger).
boost::json::object evaluation_json(const rollout::Evaluation& e, double scale);

}  // namespace slipway
