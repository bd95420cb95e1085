// What the admin API may ask of the rollout service (gateway/rollout_service.hpp implements it). Every call
// runs on the control thread, like the controller's timer, so none of them races a judgement.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace slipway {

struct ControlResult {
  int status = 200;          // HTTP status for the admin API: 200, 404 (unknown model), 409 (no canary / no rollout), 500
  std::string message;       // what happened, or why not
  boost::json::object state; // the model's state after the action (as in state()["models"][i]); empty on error
};

class RolloutControl {
 public:
  virtual ~RolloutControl() = default;
  // {"config_generation", "config_source", "models": [{"model", "configured_weight", "effective_weight",
  //   "rollout": null | {"revision", "latched", "reason", "latched_at", "weight_override", "step", "steps",
  //   "triggers": [{"trigger", "slice", "sli", "verdict", "canary_rate", "baseline_rate", "canary_n",
  //   "baseline_n", "statistic", "p_value", "threshold"}]}}]}
  virtual boost::json::object state() const = 0;
  // Latches a rollback (weight 0, persisted, alert sent) with the operator's reason.
  virtual ControlResult rollback(std::string_view model, std::string_view reason) = 0;
  // Clears the latch; progressive steps (if configured) start from the first.
  virtual ControlResult resume(std::string_view model, std::string_view reason) = 0;
  // Pins the canary weight (persisted, shown in state) until the next rollout.revision; nullopt clears it.
  // Out of [0, 100]: status 400.
  virtual ControlResult set_weight(std::string_view model, std::optional<double> percent, std::string_view reason) = 0;
};

}  // namespace slipway
