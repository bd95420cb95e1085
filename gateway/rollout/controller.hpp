// The rollout controller: triggers over the windows, a latch, progressive steps. Pure and I/O-free: the
// caller feeds outcomes (observe), calls evaluate() on a timer, persists state() (state_file.hpp) BEFORE
// acting on a rollback, and applies canary_weight_percent(). Not internally synchronized.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/rollout/judge.hpp"
#include "gateway/rollout/state_file.hpp"
#include "gateway/rollout/window.hpp"

namespace slipway::rollout {

enum class TriggerKind : uint8_t { rate, latency };

struct TriggerSpec {
  std::string name;
  TriggerKind kind = TriggerKind::rate;
  RateSli rate_sli = RateSli::validation_failure;      // kind == rate
  LatencySli latency_sli = LatencySli::end_to_end;    // kind == latency
  double quantile = 0.95;                             // kind == latency
  std::string slice = "all";                          // "all", "each" (every named slice) or a slice name
  Clock::duration window = std::chrono::hours(1);     // test length; must fit the ring
  uint64_t min_samples = 500;                         // per variant
  double tolerance_abs = 0.0;                         // rate: absolute points (0.01 = 1 point)
  double tolerance_rel = 0.0;                         // rate and latency: relative (0.1 = 10 %)
  double alpha = 0.001;  // budget: expected false rollbacks per alpha_horizon, before the Bonferroni split
  Direction direction = Direction::higher_is_worse;   // rate only; "either" for refusals
  double mixing_sd = 0.0;                             // tau; 0 = default (rate 0.02, latency 0.03)
};

struct StepSpec {
  double weight_percent = 1.0;
  Clock::duration hold = std::chrono::minutes(10);
};

struct ControllerConfig {
  std::string revision;
  WindowConfig window;
  std::vector<std::string> slices;  // named slices; slice index i + 1 (index 0 is "all")
  std::vector<TriggerSpec> triggers;
  std::vector<StepSpec> steps;      // the ramp; after the last step's hold, the canary gets weight_percent
  double weight_percent = 5.0;
  Clock::duration alpha_horizon = std::chrono::hours(1);
};

// Empty when valid, else a message naming the offending field.
std::string validate(const ControllerConfig& cfg);

// One (trigger, slice) pair's evaluation.
struct PairResult {
  std::size_t trigger = 0;
  std::size_t slice = 0;
  // Copies, not views into the controller's config: a decision outlives its controller when the fleet's
  // latch is adopted (a new controller) and the admin state still shows the last results (TSan found the
  // views dangling).
  std::string trigger_name;
  std::string slice_name;
  Evaluation eval;                // the older of the two staggered tests unless the younger fired
};

struct Decision {
  enum class Kind { none, rollback, promote } kind = Kind::none;
  std::optional<PairResult> cause;  // rollback: the pair that fired (smallest p-value)
  std::size_t to_step = 0;          // promote
  double to_weight_percent = 0;     // promote
  bool latched = false;             // state after this evaluation
  std::string hold_reason;          // why no promotion (progressive steps only)
  std::vector<PairResult> results;  // every pair, for state/metrics
};

class Controller {
 public:
  // Throws std::invalid_argument if validate(cfg) fails. A restored state with the same revision is
  // adopted (latch, override, step); one with another revision counts as a resume to the new revision.
  Controller(ControllerConfig cfg, Clock::time_point now, std::optional<RolloutState> restored = {});

  void observe(Variant v, std::span<const uint16_t> slices, const Observation& o, Clock::time_point now) {
    windows_.observe(v, slices, o, now);
  }
  Windows& windows() { return windows_; }
  const Windows& windows() const { return windows_; }

  // Runs every trigger on every slice. A rollback latches at once (state() changes; persist it before
  // acting). While latched, results are still computed and returned but nothing else happens.
  Decision evaluate(Clock::time_point now, int64_t unix_ms = 0);

  // SRE actions.
  void resume(std::string revision, Clock::time_point now);
  void rollback(std::string message, int64_t unix_ms = 0);
  void set_weight_override(std::optional<double> percent);  // throws std::invalid_argument outside [0, 100]
  // The configured canary weight changed (a reload that left the triggers alone): windows are kept.
  void set_configured_weight(double percent) { cfg_.weight_percent = percent; }

  const RolloutState& state() const { return state_; }
  double canary_weight_percent() const;
  const ControllerConfig& config() const { return cfg_; }
  std::size_t pairs() const { return pairs_.size(); }
  double pair_alpha(std::size_t trigger) const;  // the per-test threshold after the split

 private:
  struct Pair {
    std::size_t trigger, slice;
    int64_t half;  // half the test length, in buckets
  };
  // The older test ([from_old, to]) and the younger one ([from_young, to]) of one pair.
  void run(const TriggerSpec& t, std::size_t slice, int64_t from_old, int64_t from_young, int64_t to,
           double alpha, Evaluation& old, Evaluation& young) const;

  ControllerConfig cfg_;
  Windows windows_;
  std::vector<Pair> pairs_;
  RolloutState state_;
  Clock::time_point step_started_;
  int64_t data_from_epoch_ = INT64_MIN;  // data before the last resume is ignored
};

}  // namespace slipway::rollout
