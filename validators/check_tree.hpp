// A JSON Schema compiled into a compact check tree that validates a simdjson DOM with no allocation: the fast
// path of schema validation. It is built from valijson's compiled schema (so drafts, `$ref` resolution, boolean
// schemas and every parse quirk are valijson's), and mirrors valijson 1.0's evaluation rules with strong types
// (validation_visitor.hpp) constraint by constraint, including its oddities (an integer is an int64, numbers
// compare as doubles, strings stop at their first NUL byte).
//
// The answer is three-valued. `valid` and `invalid` must agree with valijson; `undecided` means "ask valijson":
// inputs where Boost.JSON and simdjson see different documents (duplicate keys, a uint64) or where valijson
// throws. The caller runs valijson whenever the answer is not `valid`, so valijson stays the reference for every
// finding's pointer and rule; the differential tests (validators_check_tree_test.cpp) hold the two together.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace re2 {
class RE2;
}
namespace valijson {
class Subschema;
}

namespace slipway::validators {

enum class FastVerdict { valid, invalid, undecided };

// Nesting depth the fast path parses (simdjson). Half of parse_json_text's 256, so any document the fast path
// accepts is one Boost.JSON accepts too.
inline constexpr size_t kFastPathMaxDepth = 128;
// Largest JSON text the fast path parses: simdjson's parser keeps buffers sized for the largest document it
// saw (several times its size), so this bounds a Validator's memory. Larger texts take the valijson path.
inline constexpr size_t kFastPathMaxBytes = 256 * 1024;

// Whether a string of this JSON text can hold a NUL byte once parsed: only a "\u0000" escape can put one
// there (a raw control character is not valid JSON). `json_text` must be valid JSON (escapes are walked
// two bytes at a time, so "\\u0000", an escaped backslash, is told apart).
bool strings_may_hold_nul(std::string_view json_text);

class CheckTree {
 public:
  // Compiles valijson's schema. Returns null and says why when a keyword has no fast-path equivalent
  // (patternProperties, propertyNames, draft-3 schema types, ...): such schemas always use valijson.
  static std::shared_ptr<const CheckTree> build(const valijson::Subschema& root, std::string& why_not);

  // `strings_may_hold_nul`: strings_may_hold_nul(the instance's JSON text). When false, strings are compared
  // whole without looking for the NUL byte valijson would stop at (a memchr per string value).
  FastVerdict check(simdjson::dom::element instance, bool strings_may_hold_nul) const;

  size_t node_count() const;

  struct Node;
  struct Check;
  struct ObjectPlan;
  struct Value;
  CheckTree();
  ~CheckTree();

 private:
  friend class CheckTreeBuilder;
  friend struct CheckWalker;
  std::vector<Node> nodes_;
  std::vector<ObjectPlan> objects_;
  std::vector<std::vector<uint32_t>> node_lists_;  // allOf / anyOf / oneOf / items arrays
  std::vector<std::vector<Value>> value_lists_;     // enum values; const is a list of one
  std::vector<std::shared_ptr<const re2::RE2>> regexes_;
};

}  // namespace slipway::validators
