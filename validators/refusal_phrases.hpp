// The refusal classifier's phrase table (internal): RE2 patterns with a language, a rule name and a weight.
// Positive weights point to a refusal, negative ones to compliance. Written for RE2 with case folding;
// an ASCII apostrophe in a pattern also matches the typographic one (’). RE2's \b is ASCII-only: no \b next
// to an accented letter.
#pragma once

#include <string_view>
#include <vector>

namespace slipway::validators::detail {

struct Phrase {
  std::string_view lang;  // "en", "fr", ... ("*" = always)
  std::string_view name;
  double weight;
  std::string_view pattern;
};

const std::vector<Phrase>& refusal_phrases();

}  // namespace slipway::validators::detail
