// Judges one side's answer to one golden case: every property the case expects, pass or fail, with the
// reason of a failure. The answer goes through the validators library exactly as in the gateway.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tools/replay/golden_case.hpp"
#include "tools/replay/http_target.hpp"
#include "tools/replay/property.hpp"

namespace slipway::validators {
class Validator;
}

namespace slipway::replay {

struct SideOutcome {
  bool responded = false;  // an HTTP response arrived (any status)
  bool connect_failed = false;
  int status = 0;          // HTTP status, 0 without a response
  std::string error;       // transport error or HTTP error summary
  std::optional<int64_t> completion_tokens;  // usage.completion_tokens of a 200 answer
  std::array<std::optional<bool>, kPropertyCount> pass{};  // empty: not checked for this case
  std::array<std::string, kPropertyCount> why{};            // why a property failed
  std::string findings;    // the validators' failing findings, "; "-joined (for the JSON report)

  bool passed(Property p) const { return pass[static_cast<size_t>(p)].value_or(false); }
};

// Evaluates `reply` (what the target answered) against the case's expectations.
SideOutcome evaluate(const GoldenCase& c, const HttpReply& reply, validators::Validator& validator);

// For answer_normalized: trimmed, surrounding quotes / backticks / ** removed, ASCII lowercased, whitespace
// runs collapsed to one space, one trailing '.' dropped, commas between digits removed ("1,024" -> "1024").
std::string normalize_answer(std::string_view s);

// answer_normalized holds when normalize_answer(content) == normalize_answer(expected), or, when the expected
// answer is a number, when the last number in the content equals it ("... so the total is 42." matches "42").
bool normalized_answer_matches(std::string_view content, std::string_view expected);

// Unicode code points of UTF-8 text (continuation bytes not counted).
size_t utf8_length(std::string_view s);

}  // namespace slipway::replay
