#include "tools/replay/property.hpp"

namespace slipway::replay {

namespace {
constexpr std::array<std::string_view, kPropertyCount> kNames = {
    "valid",  "valid_json", "schema_valid", "tool",   "tool_args_valid",
    "refuse", "citation",   "length",       "answer", "answer_normalized",
};
}  // namespace

std::string_view to_string(Property p) {
  auto i = static_cast<size_t>(p);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

std::optional<Property> property_from_string(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Property>(i);
  return std::nullopt;
}

}  // namespace slipway::replay
