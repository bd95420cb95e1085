#include "validators/multiple_of.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>

#include <valijson/constraint_builder.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>

namespace slipway::validators {

bool is_multiple_of(int64_t value, const Divisor& by) {
  if (by.integer) return value % by.i == 0;  // by.i > 0: no trap, INT64_MIN included
  return is_multiple_of(static_cast<double>(value), by);
}

bool is_multiple_of(double value, const Divisor& by) {
  if (!std::isfinite(value)) return false;
  if (value == 0) return true;
  if (by.integer) return std::fmod(value, by.d) == 0;
  // The quotient of two doubles that stand for decimals (12 and 0.1) is off an integer by a few ulps of itself
  // (119.99999999999999): allow 8 of them, and at least 1e-9. valijson's absolute test
  // (|remainder| <= epsilon) failed 12 against 0.1 and 19.99 against 0.01.
  const double q = value / by.d;
  if (!std::isfinite(q)) return false;
  const double off = std::fabs(q - std::nearbyint(q));
  return off <= std::max(1e-9, 8 * std::numeric_limits<double>::epsilon() * std::fabs(q));
}

std::string divisor_text(const Divisor& by) {
  if (by.integer) return std::to_string(by.i);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, by.d);
  return std::string(buf, r.ptr);
}

bool MultipleOfConstraint::validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                                    valijson::ValidationResults* results) const {
  // Strict types: a string is not a number here, whatever it reads as (JSON Schema: multipleOf applies to
  // numbers only). Nor, for valijson's adapter, is an integer above INT64_MAX (Boost.JSON's uint64): it is
  // skipped here as by the bounds, and fails any `type` but "any".
  bool ok;
  if (int64_t i; target.getInteger(i)) {
    ok = is_multiple_of(i, by_);
  } else if (double d; target.getDouble(d)) {
    ok = is_multiple_of(d, by_);
  } else {
    return true;
  }
  if (!ok && results) results->pushError(context, "must be a multiple of " + divisor_text(by_) + " (multipleOf)");
  return ok;
}

namespace {

class MultipleOfBuilder final : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& value) const override {
    // The schema compiler (schema_cache.cpp) has already rejected anything but a number > 0 within int64.
    Divisor by;
    if (int64_t i; value.getInteger(i) && i > 0) {
      by.integer = true;
      by.i = i;
      by.d = static_cast<double>(i);
    } else if (double d; value.getDouble(d) && d > 0 && std::isfinite(d)) {
      by.d = d;
    } else {
      throw std::runtime_error("'multipleOf' must be a number greater than 0");
    }
    return new MultipleOfConstraint(by);
  }
};

}  // namespace

void register_multiple_of_keyword(valijson::SchemaParser& parser) {
  parser.addConstraintBuilder(kMultipleOfKeyword, new MultipleOfBuilder());
}

}  // namespace slipway::validators
