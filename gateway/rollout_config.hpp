// From the YAML's rollout block to the controller's configuration, and where a model's latch is stored.
#pragma once

#include <string>

#include "config/config.hpp"
#include "gateway/rollout/controller.hpp"

namespace slipway {

// The controller's configuration for one model (validated by the config parser already).
rollout::ControllerConfig controller_config(const config::Model& model, const config::Config& cfg);
// The latch file of a model: <state_dir>/rollout-<model>.json, the name made file-safe.
std::string state_file_path(const std::string& state_dir, const std::string& model);
// Distribution SLIs other than time are stored scaled (rollout_observation.hpp): the factor that undoes it.
double value_scale(const rollout::TriggerSpec& t);

}  // namespace slipway
