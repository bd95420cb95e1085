// JSON Schema `multipleOf`, plugged into valijson as a custom keyword like `pattern` and `format`
// (re2_regex.hpp). valijson 1.0's own check converts a numeric string and casts a number to int64_t under an
// integer divisor: undefined beyond ±9.2e18 (UBSan, found by tests/fuzz/fuzz_schema.cpp) and wrong for a
// fraction (6.5 passed `multipleOf: 3`, truncated to 6). The schema compiler renames `multipleOf` (and draft 3's
// `divisibleBy`) to kMultipleOfKeyword, so valijson never runs its own. One function, `is_multiple_of`, decides
// for valijson and for the compiled check tree (check_tree.cpp), so the two cannot disagree.
#pragma once

#include <cstdint>
#include <string>

#include <valijson/constraints/concrete_constraints.hpp>

namespace valijson {
class SchemaParser;
}

namespace slipway::validators {

inline constexpr const char* kMultipleOfKeyword = "x-slipway-multiple-of";

// A divisor as the schema wrote it: an integer (exact arithmetic on integer values) or a fraction.
struct Divisor {
  bool integer = false;
  int64_t i = 0;  // integer divisors, > 0
  double d = 0;   // always set, > 0
};

// JSON Schema semantics (applies to numbers only; callers skip other types):
//  - an integer divisor and an integer value: exact remainder;
//  - an integer divisor and a fractional value: exact too (fmod is exact), so 6.5 is not a multiple of 3;
//  - a fractional divisor: the quotient within rounding of an integer (0.3 and 12 are multiples of 0.1, 0.35
//    is not; valijson's absolute test failed 12);
//  - a value that is not finite is a multiple of nothing.
bool is_multiple_of(int64_t value, const Divisor& by);
bool is_multiple_of(double value, const Divisor& by);

// The divisor as the error message shows it: shortest text that reads back the same.
std::string divisor_text(const Divisor& by);

class MultipleOfConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit MultipleOfConstraint(Divisor by) : by_(by) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override;

  const Divisor& divisor() const { return by_; }

 private:
  Constraint* cloneInto(void* where) const override { return new (where) MultipleOfConstraint(*this); }
  size_t sizeOf() const override { return sizeof(MultipleOfConstraint); }

  Divisor by_;
};

// Registers the keyword's builder on a valijson parser (which deletes it in its destructor).
void register_multiple_of_keyword(valijson::SchemaParser& parser);

}  // namespace slipway::validators
