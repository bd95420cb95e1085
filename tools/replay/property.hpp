// The properties a golden case can expect of an answer, in report order.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace slipway::replay {

enum class Property {
  valid,              // always checked: HTTP 200 and no failing finding of the validators
  valid_json,
  schema_valid,
  tool,
  tool_args_valid,
  refuse,
  citation,
  length,             // every given min/max_tokens and min/max_chars bound holds
  answer,
  answer_normalized,
};
inline constexpr size_t kPropertyCount = 10;

inline constexpr std::array<Property, kPropertyCount> kAllProperties = {
    Property::valid,  Property::valid_json, Property::schema_valid, Property::tool,   Property::tool_args_valid,
    Property::refuse, Property::citation,   Property::length,       Property::answer, Property::answer_normalized,
};

std::string_view to_string(Property p);
std::optional<Property> property_from_string(std::string_view name);

}  // namespace slipway::replay
