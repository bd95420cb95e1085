// The canary split: which variant answers a request. Pure functions, no I/O.
//
// A sticky key (the body's "user", else a configured header) hashes to a point in [0,1); the request
// goes to the canary iff point < weight/100. A user therefore stays on one variant, and raising the
// weight only moves users from baseline to canary, never back (the split is monotone in the weight).
#pragma once

#include <string_view>

#include "config/config.hpp"

namespace slipway {

enum class VariantKind { baseline, canary };
std::string_view to_string(VariantKind v);

// A stable hash of (model, key) to [0,1). Stable across builds, platforms and restarts: it is part of
// the contract that a user's cohort does not change when the gateway is upgraded.
double sticky_point(std::string_view model, std::string_view key);

inline bool in_canary(double point, double weight_percent) { return point * 100.0 < weight_percent; }

// What the route rules look at.
struct RouteView {
  std::string_view path;
  std::string_view model;
  // Returns the header's value, or an empty view when absent; `present` tells them apart.
  virtual std::string_view header(std::string_view lowercase_name, bool& present) const = 0;
  virtual ~RouteView() = default;
};

// Whether every matcher the rule has matches the request.
bool route_matches(const config::RouteRule& rule, const RouteView& request);
// The first route rule that pins this request to the baseline, or nullptr.
const config::RouteRule* find_pin(const config::Config& cfg, const RouteView& request);
// The on_invalid policy of the first matching rule that sets one, else validation.on_invalid.
config::OnInvalid find_on_invalid(const config::Config& cfg, const RouteView& request);

struct SplitDecision {
  VariantKind variant = VariantKind::baseline;
  std::string_view reason;   // "pinned", "sticky_user", "sticky_header", "random", "no_canary"
  double point = 0.0;
};

// `user` is the body's user field (may be empty), `header_key` the sticky header's value (may be
// empty), `random_point` a fresh uniform draw used only when neither is present.
SplitDecision decide_variant(const config::Model& model, const config::RouteRule* pin, std::string_view user,
                             std::string_view header_key, double random_point);
// The same with the canary weight given (the effective weight after a rollback, a step or an override).
SplitDecision decide_variant(const config::Model& model, const config::RouteRule* pin, std::string_view user,
                             std::string_view header_key, double random_point,
                             double canary_weight_percent);

}  // namespace slipway
