#include "gateway/rollout/controller.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace slipway::rollout {

namespace {
std::string sli_name(const TriggerSpec& t) {
  if (t.kind == TriggerKind::rate) return to_string(t.rate_sli);
  return std::string(to_string(t.latency_sli)) + ":p" + std::to_string(static_cast<int>(std::lround(t.quantile * 100)));
}
}  // namespace

std::string validate(const ControllerConfig& cfg) {
  if (cfg.window.bucket_width <= Clock::duration::zero()) return "window.bucket_width: must be > 0";
  if (cfg.window.buckets < 2) return "window.buckets: must be >= 2";
  if (cfg.slices.size() > 1000) return "slices: too many (max 1000)";
  for (std::size_t i = 0; i < cfg.slices.size(); ++i) {
    if (cfg.slices[i].empty() || cfg.slices[i] == "all" || cfg.slices[i] == "each")
      return "slices[" + std::to_string(i) + "]: reserved or empty name \"" + cfg.slices[i] + "\"";
    for (std::size_t j = 0; j < i; ++j)
      if (cfg.slices[j] == cfg.slices[i]) return "slices[" + std::to_string(i) + "]: duplicate \"" + cfg.slices[i] + "\"";
  }
  const auto span = cfg.window.bucket_width * static_cast<int64_t>(cfg.window.buckets);
  for (std::size_t i = 0; i < cfg.triggers.size(); ++i) {
    const TriggerSpec& t = cfg.triggers[i];
    const std::string k = "triggers[" + std::to_string(i) + "].";
    if (t.name.empty()) return k + "name: must not be empty";
    if (t.slice != "all" && t.slice != "each" &&
        std::find(cfg.slices.begin(), cfg.slices.end(), t.slice) == cfg.slices.end())
      return k + "slice: unknown slice \"" + t.slice + "\"";
    if (t.window < 2 * cfg.window.bucket_width) return k + "window: must be at least two buckets";
    if (t.window > span) return k + "window: longer than the ring (bucket_width * buckets)";
    if (!(t.alpha > 0 && t.alpha < 1)) return k + "alpha: must be within (0, 1)";
    if (!(t.tolerance_abs >= 0) || !(t.tolerance_rel >= 0)) return k + "tolerance: must be >= 0";
    if (!(t.mixing_sd >= 0)) return k + "mixing_sd: must be >= 0";
    if (t.kind == TriggerKind::latency && !(t.quantile > 0 && t.quantile < 1))
      return k + "quantile: must be within (0, 1)";
    if (t.kind == TriggerKind::latency && t.direction != Direction::higher_is_worse)
      return k + "direction: latency triggers only look for the canary being slower";
  }
  for (std::size_t i = 0; i < cfg.steps.size(); ++i)
    if (!(cfg.steps[i].weight_percent >= 0 && cfg.steps[i].weight_percent <= 100))
      return "steps[" + std::to_string(i) + "].weight_percent: must be within [0, 100]";
  if (!(cfg.weight_percent >= 0 && cfg.weight_percent <= 100)) return "weight_percent: must be within [0, 100]";
  if (cfg.alpha_horizon <= Clock::duration::zero()) return "alpha_horizon: must be > 0";
  return {};
}

Controller::Controller(ControllerConfig cfg, Clock::time_point now, std::optional<RolloutState> restored)
    : cfg_(std::move(cfg)), windows_(cfg_.window, cfg_.slices.size() + 1), step_started_(now) {
  if (auto err = validate(cfg_); !err.empty()) throw std::invalid_argument(err);
  for (std::size_t t = 0; t < cfg_.triggers.size(); ++t) {
    const TriggerSpec& spec = cfg_.triggers[t];
    const int64_t buckets = std::max<int64_t>(1, spec.window / cfg_.window.bucket_width);
    const int64_t half = std::max<int64_t>(1, buckets / 2);
    if (spec.slice == "all") {
      pairs_.push_back({t, 0, half});
    } else if (spec.slice == "each") {
      for (std::size_t s = 1; s <= cfg_.slices.size(); ++s) pairs_.push_back({t, s, half});
    } else {
      const auto it = std::find(cfg_.slices.begin(), cfg_.slices.end(), spec.slice);
      pairs_.push_back({t, static_cast<std::size_t>(it - cfg_.slices.begin()) + 1, half});
    }
  }
  state_.revision = cfg_.revision;
  if (restored) {
    if (restored->revision == cfg_.revision) {
      state_ = std::move(*restored);
      state_.step = std::min(state_.step, cfg_.steps.size());
    } else {
      resume(cfg_.revision, now);
    }
  }
}

double Controller::pair_alpha(std::size_t trigger) const {
  const TriggerSpec& t = cfg_.triggers.at(trigger);
  const int64_t buckets = std::max<int64_t>(1, t.window / cfg_.window.bucket_width);
  const double half = static_cast<double>(std::max<int64_t>(1, buckets / 2)) *
                      std::chrono::duration<double>(cfg_.window.bucket_width).count();
  const double horizon = std::chrono::duration<double>(cfg_.alpha_horizon).count();
  // A new test starts every `half`: horizon / half tests per horizon per pair, times the pairs.
  const double tests_per_horizon = std::max(1.0, horizon / half);
  return t.alpha / (static_cast<double>(std::max<std::size_t>(1, pairs_.size())) * tests_per_horizon);
}

void Controller::run(const TriggerSpec& t, std::size_t slice, int64_t from_old, int64_t from_young, int64_t to,
                     double alpha, Evaluation& old, Evaluation& young) const {
  from_old = std::max(from_old, data_from_epoch_);
  from_young = std::max(from_young, data_from_epoch_);
  if (t.kind == TriggerKind::rate) {
    RateTestParams p;
    p.tolerance_abs = t.tolerance_abs;
    p.tolerance_rel = t.tolerance_rel;
    p.mixing_sd = t.mixing_sd > 0 ? t.mixing_sd : 0.02;
    p.alpha = alpha;
    p.min_samples = t.min_samples;
    p.direction = t.direction;
    RateCount co, cy, bo, by;
    windows_.rate2(Variant::canary, slice, t.rate_sli, from_old, from_young, to, co, cy);
    windows_.rate2(Variant::baseline, slice, t.rate_sli, from_old, from_young, to, bo, by);
    if (t.rate_sli == RateSli::shadow_disagreement) {
      // Only the canary's side exists (each compared shadow is a trial, a disagreement its failure): judge it
      // against a perfect reference with the same n, so the test asks "disagreement above tolerance_abs?".
      bo = {co.trials, 0};
      by = {cy.trials, 0};
    }
    old = rate_test(co, bo, p);
    young = rate_test(cy, by, p);
    return;
  }
  LatencyTestParams p;
  p.quantile = t.quantile;
  p.tolerance_rel = t.tolerance_rel;
  p.mixing_sd = t.mixing_sd > 0 ? t.mixing_sd : 0.03;
  p.alpha = alpha;
  p.min_samples = t.min_samples;
  Histogram co, cy, bo, by;
  windows_.latency2(Variant::canary, slice, t.latency_sli, from_old, from_young, to, co, cy);
  windows_.latency2(Variant::baseline, slice, t.latency_sli, from_old, from_young, to, bo, by);
  old = latency_test(co, bo, p);
  young = latency_test(cy, by, p);
}

Decision Controller::evaluate(Clock::time_point now, int64_t unix_ms) {
  Decision d;
  d.results.reserve(pairs_.size());
  const int64_t e = windows_.epoch_of(now);
  const PairResult* worst = nullptr;
  bool all_pass = true;
  std::string waiting;
  for (const Pair& p : pairs_) {
    const TriggerSpec& t = cfg_.triggers[p.trigger];
    const double alpha = pair_alpha(p.trigger);
    // Two staggered tests, each started on a multiple of `half` buckets and each at most 2 * half long.
    const int64_t a = (e >= 0 ? e / p.half : (e - p.half + 1) / p.half) * p.half;
    Evaluation young, old;
    run(t, p.slice, a - p.half, a, e, alpha, old, young);
    PairResult r;
    r.trigger = p.trigger;
    r.slice = p.slice;
    r.trigger_name = t.name;
    r.slice_name = p.slice == 0 ? std::string("all") : cfg_.slices[p.slice - 1];
    r.eval = (young.fired() && (!old.fired() || young.p_value < old.p_value)) ? young : old;
    if (r.eval.verdict == Verdict::min_sample) {
      all_pass = false;
      if (waiting.empty()) waiting = "min sample: " + t.name + " on " + r.slice_name;
    } else if (r.eval.fired()) {
      all_pass = false;
    }
    d.results.push_back(r);
    if (r.eval.fired() && (!worst || r.eval.p_value < worst->eval.p_value)) worst = &d.results.back();
  }
  if (state_.latched) {
    d.latched = true;
    return d;
  }
  if (worst) {
    d.kind = Decision::Kind::rollback;
    d.cause = *worst;
    state_.latched = true;
    state_.latched_at_unix_ms = unix_ms;
    state_.reason = LatchReason{std::string(worst->trigger_name), std::string(worst->slice_name),
                                sli_name(cfg_.triggers[worst->trigger]), {}, worst->eval};
    d.latched = true;
    return d;
  }
  // Steps ramp the canary up; after the last step's hold it gets the configured weight (step == steps.size()).
  if (!cfg_.steps.empty() && !state_.weight_override) {
    if (state_.step >= cfg_.steps.size()) {
      d.hold_reason = "at full weight";
    } else if (now - step_started_ < cfg_.steps[state_.step].hold) {
      d.hold_reason = "holding step " + std::to_string(state_.step) + " for " +
                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         cfg_.steps[state_.step].hold - (now - step_started_)).count()) + " s more";
    } else if (!all_pass) {
      d.hold_reason = waiting.empty() ? "a trigger does not pass" : waiting;
    } else {
      ++state_.step;
      step_started_ = now;
      d.kind = Decision::Kind::promote;
      d.to_step = state_.step;
      d.to_weight_percent = canary_weight_percent();
    }
  }
  return d;
}

void Controller::resume(std::string revision, Clock::time_point now) {
  state_.revision = std::move(revision);
  state_.latched = false;
  state_.reason.reset();
  state_.latched_at_unix_ms = 0;
  state_.weight_override.reset();
  state_.step = 0;
  step_started_ = now;
  data_from_epoch_ = windows_.epoch_of(now);
}

void Controller::rollback(std::string message, int64_t unix_ms) {
  if (state_.latched) return;
  state_.latched = true;
  state_.latched_at_unix_ms = unix_ms;
  state_.reason = LatchReason{"manual", "", "", std::move(message), {}};
}

void Controller::set_weight_override(std::optional<double> percent) {
  if (percent && !(*percent >= 0 && *percent <= 100)) throw std::invalid_argument("weight override must be within [0, 100]");
  state_.weight_override = percent;
}

double Controller::canary_weight_percent() const {
  if (state_.latched) return 0.0;
  if (state_.weight_override) return *state_.weight_override;
  if (state_.step < cfg_.steps.size()) return cfg_.steps[state_.step].weight_percent;
  return cfg_.weight_percent;
}

}  // namespace slipway::rollout
