// Small helpers on the config model itself (the parser lives in its own files).
#include "config/config.hpp"

namespace slipway::config {

const Model* Config::find_model(std::string_view name) const {
  for (const auto& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

std::string ConfigError::to_string() const {
  std::string out = path.empty() ? message : path + ": " + message;
  if (line > 0) out += " (line " + std::to_string(line) + ")";
  return out;
}

}  // namespace slipway::config
