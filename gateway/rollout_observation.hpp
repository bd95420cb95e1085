// What one finished request tells the rollout judge: the variant the split chose and, per SLI, whether it
// applies and failed (rates) or its value (distributions). Requests outside the randomized split (pinned,
// passthrough, no canary, client gone, client errors) tell it nothing: comparing them would bias the test.
#pragma once

#include <cstddef>
#include <optional>

#include "config/config.hpp"
#include "gateway/outcome.hpp"
#include "gateway/rollout/window.hpp"

namespace slipway {

struct JudgedRequest {
  rollout::Variant variant = rollout::Variant::baseline;
  rollout::Observation observation;
};

// Non-time distribution SLIs are scaled into the latency bins' range (seconds from 1 ms to ~110 s).
inline constexpr double kOutputTokensScale = 1e-3;  // 1 token = "1 ms"
inline constexpr double kCostScale = 1e3;            // 0.001 currency units = "1 ms"

std::optional<JudgedRequest> judged_request(const Outcome& out, const config::Config& cfg, std::size_t model_index,
                                            bool offered_tools);

}  // namespace slipway
