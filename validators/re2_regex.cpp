#include "validators/re2_regex.hpp"

#include <new>
#include <stdexcept>

#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>

#include "validators/formats.hpp"

namespace slipway::validators {

std::shared_ptr<const RE2> Re2PatternSet::compile(const std::string& pattern, std::string& error) {
  if (auto it = compiled_.find(pattern); it != compiled_.end()) return it->second;
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_never_capture(true);
  opt.set_encoding(RE2::Options::EncodingUTF8);
  opt.set_max_mem(8 << 20);
  auto re = std::make_shared<RE2>(pattern, opt);
  if (!re->ok()) {
    error = "pattern '" + pattern + "' is not supported by RE2 (" + re->error() + ")";
    return nullptr;
  }
  if (re->ProgramSize() > max_program_size_) {
    error = "pattern '" + pattern + "' is too costly (RE2 program size " + std::to_string(re->ProgramSize()) +
            " > " + std::to_string(max_program_size_) + ")";
    return nullptr;
  }
  compiled_.emplace(pattern, re);
  return re;
}

namespace {

using valijson::ValidationResults;
using valijson::adapters::Adapter;
using valijson::constraints::Constraint;
using valijson::constraints::PolyConstraint;

}  // namespace

bool Re2PatternConstraint::validate(const Adapter& target, const std::vector<std::string>& context,
                                    ValidationResults* results) const {
  if (!target.maybeString()) return true;
  std::string s;
  if (!target.getString(s)) return true;
  if (RE2::PartialMatch(s, *re_)) return true;
  if (results) results->pushError(context, "must match pattern '" + pattern_ + "' (pattern)");
  return false;
}

bool FormatCheckConstraint::validate(const Adapter& target, const std::vector<std::string>& context,
                                     ValidationResults* results) const {
  if (f_ == Format::unknown || !target.maybeString()) return true;
  std::string s;
  if (!target.getString(s)) return true;
  if (check_format(f_, s)) return true;
  if (results) results->pushError(context, "must be a valid " + std::string(format_name(f_)) + " (format)");
  return false;
}

namespace {

class PatternBuilder final : public valijson::ConstraintBuilder {
 public:
  explicit PatternBuilder(std::shared_ptr<Re2PatternSet> set) : set_(std::move(set)) {}
  Constraint* make(const Adapter& value) const override {
    std::string pattern;
    if (!value.getString(pattern)) throw std::runtime_error("'pattern' must be a string");
    std::string err;
    auto re = set_->compile(pattern, err);
    if (!re) throw std::runtime_error(err);
    return new Re2PatternConstraint(std::move(re), std::move(pattern));
  }

 private:
  std::shared_ptr<Re2PatternSet> set_;
};

class FormatBuilder final : public valijson::ConstraintBuilder {
 public:
  Constraint* make(const Adapter& value) const override {
    std::string name;
    if (!value.getString(name)) throw std::runtime_error("'format' must be a string");
    return new FormatCheckConstraint(format_from_name(name));
  }
};

}  // namespace

void register_re2_keywords(valijson::SchemaParser& parser, std::shared_ptr<Re2PatternSet> set) {
  // The parser deletes its builders in its destructor.
  parser.addConstraintBuilder(kPatternKeyword, new PatternBuilder(std::move(set)));
  parser.addConstraintBuilder(kFormatKeyword, new FormatBuilder());
}

}  // namespace slipway::validators
