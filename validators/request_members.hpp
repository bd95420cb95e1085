// The top-level members of a request body that the validators read, and only those, as a Boost.JSON object.
// The conversation (`messages`, `prompt`) is where a request's bytes are, and the validators only need to know
// whether it is there: parsing all of it with Boost.JSON cost ≈ 130 µs for a 64 KiB conversation, against
// ≈ 15 µs for simdjson's validation of the whole body plus Boost.JSON on the few members that matter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace slipway::validators {

// What parse_expectations reads (request_expectations.cpp) besides `messages` and `prompt`, whose presence is
// all that counts.
inline constexpr std::array<std::string_view, 9> kRequestMembersRead = {
    "stream", "max_completion_tokens", "max_tokens", "response_format", "guided_json", "structured_outputs",
    "tools", "tool_choice", "parallel_tool_calls"};

// One occurrence of a member parse_expectations reads: which one (an index into kRequestMembersRead) and the
// text of its value, a view into the body.
struct MemberText {
  uint8_t which = 0;
  std::string_view value;
};

struct RequestMemberTexts {
  std::vector<MemberText> read;  // in body order; a repeated key once per occurrence
  bool has_messages = false;
  bool has_prompt = false;
};

// Whether the caller has already parsed the body as JSON (the gateway's admission has, with simdjson): the
// scan below is only sound on valid JSON text, and a second simdjson parse of a 4 KiB body cost 6 % of a
// structured-output request's instructions.
enum class JsonText { unchecked, valid };

// Unless the caller says the body is valid JSON, it is validated whole by simdjson (depth ≤ 256, size ≤ 256
// KiB); then its top-level members are scanned (keys compared unescaped). nullopt when the body is not a JSON
// object (or, unchecked, one simdjson accepts within those bounds): the caller then parses it whole with
// Boost.JSON and words the error.
std::optional<RequestMemberTexts> scan_request_members(std::string_view body, JsonText text = JsonText::unchecked);

// The members as the Boost.JSON object parse_expectations reads: each value parsed by Boost.JSON from its own
// bytes (so numbers, duplicate keys and nesting come out exactly as a Boost.JSON parse of the whole body gives
// them), `messages` and `prompt` as null. `keep`, when given, picks the members (by key) to include.
// nullopt when Boost.JSON refuses a value (nested deeper than it accepts).
std::optional<boost::json::value> members_object(const RequestMemberTexts& texts,
                                                 bool (*keep)(std::string_view key) = nullptr);

// scan_request_members, then members_object.
std::optional<boost::json::value> read_request_members(std::string_view body);

// parse_expectations(std::string_view) uses read_request_members from this body size on (measured break-even:
// a few KiB; below it one Boost.JSON parse of the whole body is as cheap).
inline constexpr size_t kMembersOnlyMinBytes = 8 * 1024;

}  // namespace slipway::validators
