#include "gateway/rollout_config.hpp"

#include <algorithm>
#include <cstdio>

#include "gateway/rollout_observation.hpp"

namespace slipway {

using rollout::LatencySli;
using rollout::RateSli;
using rollout::TriggerKind;

rollout::ControllerConfig controller_config(const config::Model& model, const config::Config& cfg) {
  const config::Rollout& r = *model.rollout;
  rollout::ControllerConfig cc;
  cc.revision = r.revision;
  cc.window.bucket_width = r.bucket;
  config::Duration longest = r.bucket;
  bool distributions = false;
  for (const auto& s : cfg.slices) cc.slices.push_back(s.name);
  for (const auto& t : r.triggers) {
    rollout::TriggerSpec ts;
    ts.name = t.name;
    ts.slice = t.slice;
    ts.window = t.window;
    ts.min_samples = t.min_samples;
    ts.tolerance_abs = t.tolerance_abs;
    ts.tolerance_rel = t.tolerance_rel;
    ts.alpha = 1.0 - t.confidence;
    ts.quantile = t.quantile;
    ts.direction = t.direction == config::TriggerDirection::lower_is_worse ? rollout::Direction::lower_is_worse
                   : t.direction == config::TriggerDirection::either       ? rollout::Direction::either
                                                                           : rollout::Direction::higher_is_worse;
    ts.kind = TriggerKind::rate;
    switch (t.sli) {
      case config::TriggerSli::validation_failure_rate: ts.rate_sli = RateSli::validation_failure; break;
      case config::TriggerSli::tool_call_failure_rate: ts.rate_sli = RateSli::tool_call_failure; break;
      case config::TriggerSli::refusal_rate: ts.rate_sli = RateSli::refusal; break;
      case config::TriggerSli::truncation_rate: ts.rate_sli = RateSli::truncation; break;
      case config::TriggerSli::upstream_error_rate: ts.rate_sli = RateSli::upstream_error; break;
      case config::TriggerSli::shadow_disagreement_rate: ts.rate_sli = RateSli::shadow_disagreement; break;
      case config::TriggerSli::latency: ts.kind = TriggerKind::latency; ts.latency_sli = LatencySli::end_to_end; break;
      case config::TriggerSli::time_to_first_token:
        ts.kind = TriggerKind::latency;
        ts.latency_sli = LatencySli::time_to_first_token;
        break;
      case config::TriggerSli::output_tokens: ts.kind = TriggerKind::latency; ts.latency_sli = LatencySli::output_tokens; break;
      case config::TriggerSli::cost_per_success:
        ts.kind = TriggerKind::latency;
        ts.latency_sli = LatencySli::cost_per_success;
        break;
    }
    if (ts.kind == TriggerKind::latency) {
      distributions = true;
      ts.direction = rollout::Direction::higher_is_worse;
    }
    longest = std::max(longest, t.window);
    cc.triggers.push_back(std::move(ts));
  }
  // The longest test plus one bucket of slack for the bucket being filled.
  cc.window.buckets = static_cast<std::size_t>(longest / r.bucket) + 2;
  cc.window.distributions = distributions;
  for (const auto& s : r.steps) cc.steps.push_back({s.weight_percent, s.hold});
  cc.weight_percent = model.canary ? model.canary->weight_percent : 0.0;
  return cc;
}

std::string state_file_path(const std::string& state_dir, const std::string& model) {
  std::string safe;
  bool changed = false;
  for (char c : model) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    safe.push_back(ok ? c : '_');
    changed = changed || !ok;
  }
  if (safe.empty() || safe[0] == '.') changed = true, safe.insert(safe.begin(), '_');
  if (changed) {  // "a/b" and "a_b" must not share a file
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : model) h = (h ^ c) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    safe += "-";
    safe += std::string(hex, 8);
  }
  std::string dir = state_dir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + "rollout-" + safe + ".json";
}

// Distribution SLIs other than time are stored scaled (rollout_observation.hpp); undo it for people.
double value_scale(const rollout::TriggerSpec& t) {
  if (t.kind != TriggerKind::latency) return 1.0;
  if (t.latency_sli == LatencySli::output_tokens) return 1.0 / kOutputTokensScale;
  if (t.latency_sli == LatencySli::cost_per_success) return 1.0 / kCostScale;
  return 1.0;
}

}  // namespace slipway
