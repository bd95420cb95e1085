// The top-level members of a request body that the validators read, and only those, as a Boost.JSON object.
// The conversation (`messages`, `prompt`) is where a request's bytes are, and the validators only need to know
// whether it is there: parsing all of it with Boost.JSON cost ≈ 130 µs for a 64 KiB conversation, against
// ≈ 15 µs for simdjson's validation of the whole body plus Boost.JSON on the few members that matter.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/json/value.hpp>

namespace slipway::validators {

// The body is validated whole by simdjson (depth ≤ 256, size ≤ 256 KiB); the members read are parsed by
// Boost.JSON from their own bytes (so numbers, duplicate keys and nesting come out exactly as a Boost.JSON
// parse of the whole body gives them); `messages` and `prompt` are kept as null (their presence is what
// counts). nullopt when the body is not a JSON object simdjson accepts within those bounds: the caller then
// parses it whole with Boost.JSON, as before, and words the error.
std::optional<boost::json::value> read_request_members(std::string_view body);

// parse_expectations(std::string_view) uses read_request_members from this body size on (measured break-even:
// a few KiB; below it one Boost.JSON parse of the whole body is as cheap).
inline constexpr size_t kMembersOnlyMinBytes = 8 * 1024;

}  // namespace slipway::validators
