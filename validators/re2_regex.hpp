// JSON Schema `pattern` on RE2 (linear time, never backtracking) and `format` checks, plugged into valijson
// as custom keywords. valijson 1.0 (Debian 12) hard-wires std::regex for `pattern` and has no regex-engine
// hook, so the schema compiler renames `pattern` -> kPatternKeyword and `format` -> kFormatKeyword in every
// subschema and registers the builders below for them: valijson never sees a `pattern` it would run itself.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <re2/re2.h>
#include <valijson/constraints/concrete_constraints.hpp>

#include "validators/formats.hpp"

namespace valijson {
class SchemaParser;
}

namespace slipway::validators {

inline constexpr const char* kPatternKeyword = "x-slipway-re2-pattern";
inline constexpr const char* kFormatKeyword = "x-slipway-format";

// Compiles JSON Schema (ECMA-262 flavoured) regexes with RE2. Compiled programs are shared by pattern text.
class Re2PatternSet {
 public:
  explicit Re2PatternSet(int max_program_size) : max_program_size_(max_program_size) {}
  // Returns the compiled regex, or nullptr with `error` set (syntax RE2 lacks, e.g. look-around or
  // back-references, or a program larger than the limit).
  std::shared_ptr<const RE2> compile(const std::string& pattern, std::string& error);
  size_t size() const { return compiled_.size(); }

 private:
  int max_program_size_;
  std::map<std::string, std::shared_ptr<const RE2>, std::less<>> compiled_;
};

// The constraints valijson runs for the two keywords. Declared here (not hidden in the .cpp) because the
// compiled check tree (check_tree.cpp) reads them back out of valijson's schema: the RE2 program and the format.
class Re2PatternConstraint final : public valijson::constraints::PolyConstraint {
 public:
  Re2PatternConstraint(std::shared_ptr<const RE2> re, std::string pattern)
      : re_(std::move(re)), pattern_(std::move(pattern)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override;

  const std::shared_ptr<const RE2>& re() const { return re_; }

 private:
  Constraint* cloneInto(void* where) const override { return new (where) Re2PatternConstraint(*this); }
  size_t sizeOf() const override { return sizeof(Re2PatternConstraint); }

  std::shared_ptr<const RE2> re_;
  std::string pattern_;
};

class FormatCheckConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit FormatCheckConstraint(Format f) : f_(f) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override;

  Format format() const { return f_; }

 private:
  Constraint* cloneInto(void* where) const override { return new (where) FormatCheckConstraint(*this); }
  size_t sizeOf() const override { return sizeof(FormatCheckConstraint); }

  Format f_;
};

// Registers the `pattern` and `format` keyword builders on a valijson parser. The builders share `set`
// (which must outlive the parse; compiled constraints keep their own shared_ptr to each RE2).
void register_re2_keywords(valijson::SchemaParser& parser, std::shared_ptr<Re2PatternSet> set);

}  // namespace slipway::validators
