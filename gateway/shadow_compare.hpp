// Shadow comparison, the pure part: two answers to the same request (the baseline's, which the client got,
// and the canary's, asked in the background) and their validators' verdicts in; per aspect, whether the two
// agree. No I/O and no validator state: the caller runs the validators (gateway/shadow.cpp, unit tests).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/json/value.hpp>

#include "validators/assembled_response.hpp"
#include "validators/request_expectations.hpp"
#include "validators/verdict.hpp"

namespace slipway::shadow {

// What is compared (label `aspect` of slipway_shadow_agreement_total; docs/shadow.md).
enum class Aspect : uint8_t {
  validity,        // both pass the validators, or both fail
  tool_choice,     // the same tool names were called (order-insensitive); tools offered only
  tool_arguments,  // the calls' arguments are the same JSON; only when both chose the same tools and called any
  json_content,    // the content is the same JSON; only when the request asked for JSON
  refusal,         // both refused, or neither did
};
inline constexpr std::size_t kAspects = 5;
std::string_view to_string(Aspect a);

enum class Validity : uint8_t { both_valid, only_baseline_valid, only_canary_valid, both_invalid };
std::string_view to_string(Validity v);

struct Side {
  const validators::AssembledResponse& answer;
  const validators::Verdict& verdict;
};

struct Comparison {
  Validity validity = Validity::both_valid;
  // Per aspect: nullopt when it does not apply to this request, else whether the two answers agree.
  std::array<std::optional<bool>, kAspects> agree{};
  // Canary completion tokens / baseline completion tokens (both usages known, baseline > 0).
  std::optional<double> length_ratio;

  std::optional<bool> of(Aspect a) const { return agree[static_cast<std::size_t>(a)]; }
  // True when any applicable aspect disagrees (the shadow_disagreement_rate trigger's failure).
  bool any_disagreement() const;
};

// Compares choice 0 of each answer (n > 1 is not mirrored meaningfully; docs/shadow.md).
Comparison compare_answers(const validators::Expectations& request, Side baseline, Side canary);

// JSON semantic equality: object key order does not matter, numbers compare by value (1 == 1.0 == 1e0),
// arrays compare in order, strings byte for byte.
bool json_equivalent(const boost::json::value& a, const boost::json::value& b);
// Both texts parse as JSON and are equivalent; texts that do not parse are equal only when identical.
bool json_text_equivalent(std::string_view a, std::string_view b);

}  // namespace slipway::shadow
