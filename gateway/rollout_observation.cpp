#include "gateway/rollout_observation.hpp"

#include "gateway/metrics.hpp"

namespace slipway {

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

bool tool_call_failed(const validators::Verdict& v) {
  using K = validators::FindingKind;
  return v.tool_calls_valid < v.tool_calls || v.has(K::tool_unknown_function) || v.has(K::tool_args_invalid_json) ||
         v.has(K::tool_args_schema_violation) || v.has(K::tool_choice_violated) || v.has(K::tool_call_in_content);
}
}  // namespace

std::optional<JudgedRequest> judged_request(const Outcome& out, const config::Config& cfg, std::size_t model_index,
                                            bool offered_tools) {
  if (!out.proxied || model_index >= cfg.models.size()) return std::nullopt;
  const config::Model& model = cfg.models[model_index];
  if (!model.canary) return std::nullopt;
  if (out.split_reason != "sticky_user" && out.split_reason != "sticky_header" && out.split_reason != "random")
    return std::nullopt;  // pinned, passthrough: not part of the experiment
  const RequestOutcome kind = classify_outcome(out);
  if (kind == RequestOutcome::client_gone || kind == RequestOutcome::client_error) return std::nullopt;

  JudgedRequest j;
  const bool canary = out.variant == VariantKind::canary;
  j.variant = canary ? rollout::Variant::canary : rollout::Variant::baseline;
  using rollout::LatencySli;
  using rollout::RateSli;
  auto& o = j.observation;

  // A canary that failed before answering (error, timeout) and was replaced by the baseline: an upstream
  // failure of the canary; its other SLIs are unknown, and the baseline's answer must not count for it.
  const bool fell_back = !out.fallback_reason.empty();
  const bool canary_upstream_failure = canary && fell_back && out.fallback_reason != "canary_invalid";
  const bool upstream_failure =
      canary_upstream_failure || (!fell_back && (kind == RequestOutcome::upstream_error || kind == RequestOutcome::timeout));
  o.set(RateSli::upstream_error, upstream_failure);
  if (upstream_failure) return j;

  // The variant's own answer: after an invalid canary answer was replaced, the replaced one.
  const validators::Verdict* v = canary && fell_back ? (out.fallen_back_verdict ? &*out.fallen_back_verdict : nullptr)
                                                     : (out.verdict ? &*out.verdict : nullptr);
  if (v) {
    o.set(RateSli::validation_failure, !v->ok());
    o.set(RateSli::refusal, v->refusal);
    o.set(RateSli::truncation, v->truncated);
    if (offered_tools) o.set(RateSli::tool_call_failure, tool_call_failed(*v));
  }
  if (fell_back) return j;  // the timings and usage are the baseline's (and the canary's attempt), not the canary's

  o.set(LatencySli::end_to_end, seconds(out.end - out.start));
  if (out.stream && out.first_token != Clock::time_point{}) o.set(LatencySli::time_to_first_token, seconds(out.first_token - out.start));
  if (out.usage) {
    o.set(LatencySli::output_tokens, static_cast<double>(out.usage->completion_tokens) * kOutputTokensScale);
    const config::Variant& var = canary ? *model.canary : model.baseline;
    if (var.price && (!v || v->ok())) {
      const double cost = static_cast<double>(out.usage->prompt_tokens) / 1000.0 * var.price->prompt_per_1k +
                          static_cast<double>(out.usage->completion_tokens) / 1000.0 * var.price->completion_per_1k;
      o.set(LatencySli::cost_per_success, cost * kCostScale);
    }
  }
  return j;
}

}  // namespace slipway
