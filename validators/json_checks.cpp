#include "validators/json_checks.hpp"

#include <cstdio>
#include <cstdlib>

#include <boost/json/parser.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "validators/json_util.hpp"

namespace slipway::validators {

namespace bj = boost::json;

bool parse_json_text(std::string_view text, bj::value& out, std::string& error, bj::storage_ptr sp) {
  bj::parse_options po;
  po.max_depth = 256;
  thread_local bj::parser p({}, po);
  p.reset(std::move(sp));
  bj::error_code ec;
  size_t n = p.write(text.data(), text.size(), ec);
  if (ec) {
    size_t off = n;
    // boost reports the bytes consumed before the error; give a short excerpt of where it broke.
    std::string near(text.substr(off > 16 ? off - 16 : 0, 32));
    for (char& c : near)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    error = "not valid JSON at byte " + std::to_string(off) + ": " + ec.message() + " (near \"" + near + "\")";
    p.reset();
    return false;
  }
  out = p.release();
  return true;
}

std::string context_to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& c : context) {
    if (c == "<root>") continue;
    std::string_view t = c;
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    detail::append_pointer_token(out, t);
  }
  return out;
}

namespace {

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// valijson prints bounds with std::to_string (0.000000): shorten.
std::string number_after(std::string_view s, std::string_view prefix) {
  std::string num(s.substr(prefix.size()));
  while (!num.empty() && (num.back() == '.' || num.back() == ' ')) num.pop_back();
  char* end = nullptr;
  double d = std::strtod(num.c_str(), &end);
  if (end == num.c_str()) return num;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return buf;
}

std::string leading_count(std::string_view s, std::string_view prefix) {
  std::string_view rest = s.substr(prefix.size());
  size_t i = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
  return std::string(rest.substr(0, i));
}

std::string quoted_tail(std::string_view s) {
  auto a = s.find('\'');
  auto b = s.rfind('\'');
  if (a == std::string_view::npos || b <= a) return {};
  return std::string(s.substr(a + 1, b - a - 1));
}

}  // namespace

std::string describe_valijson_error(std::string_view m) {
  // Wrappers around a more precise child error.
  if (starts(m, "Failed to validate item #") || starts(m, "Failed to validate against schema associated with") ||
      starts(m, "Failed to validate against additional properties schema") ||
      starts(m, "Failed to validate against child schema #") ||
      starts(m, "Failed to validate against dependent schema"))
    return {};
  // Our own RE2 keywords already speak the house style.
  if (m.size() > 2 && m.back() == ')' && (m.find(" (pattern)") != std::string_view::npos ||
                                          m.find(" (format)") != std::string_view::npos))
    return std::string(m);
  if (starts(m, "Expected number greater than or equal to "))
    return "must be >= " + number_after(m, "Expected number greater than or equal to ") + " (minimum)";
  if (starts(m, "Expected number greater than "))
    return "must be > " + number_after(m, "Expected number greater than ") + " (exclusiveMinimum)";
  if (starts(m, "Expected number less than or equal to "))
    return "must be <= " + number_after(m, "Expected number less than or equal to ") + " (maximum)";
  if (starts(m, "Expected number less than "))
    return "must be < " + number_after(m, "Expected number less than ") + " (exclusiveMaximum)";
  if (starts(m, "Missing required property "))
    return "required property '" + quoted_tail(m) + "' is missing (required)";
  if (starts(m, "Value type not permitted")) return "has a type the schema does not allow (type)";
  if (starts(m, "Failed to match against any enum values")) return "must be one of the enum values (enum)";
  if (starts(m, "Failed to match expected value set by 'const'")) return "must equal the const value (const)";
  if (starts(m, "Target value and comparison value are not equal")) return "must equal the const value (const)";
  if (starts(m, "Object contains a property that could not be validated"))
    return "property '" + quoted_tail(m.substr(m.find("constraints:"))) + "' is not allowed (additionalProperties)";
  if (starts(m, "Failed to validate against any schemas allowed by anyOf"))
    return "matches none of the anyOf alternatives (anyOf)";
  if (starts(m, "Failed to validate against any child schemas allowed by oneOf"))
    return "matches none of the oneOf alternatives (oneOf)";
  if (starts(m, "Failed to validate against exactly one child schema"))
    return "matches more than one oneOf alternative (oneOf)";
  if (starts(m, "Target should not validate against schema specified in 'not'"))
    return "must not match the 'not' schema (not)";
  if (starts(m, "Array should contain no more than "))
    return "must have at most " + leading_count(m, "Array should contain no more than ") + " items (maxItems)";
  if (starts(m, "Array should contain no fewer than "))
    return "must have at least " + leading_count(m, "Array should contain no fewer than ") + " items (minItems)";
  if (starts(m, "String should be no more than "))
    return "must be at most " + leading_count(m, "String should be no more than ") + " characters (maxLength)";
  if (starts(m, "String should be no fewer than "))
    return "must be at least " + leading_count(m, "String should be no fewer than ") + " characters (minLength)";
  if (starts(m, "Object should have no more than "))
    return "must have at most " + leading_count(m, "Object should have no more than ") +
           " properties (maxProperties)";
  if (starts(m, "Object should have no fewer than "))
    return "must have at least " + leading_count(m, "Object should have no fewer than ") +
           " properties (minProperties)";
  if (starts(m, "Elements at indexes")) return std::string(m) + " (uniqueItems)";
  if (starts(m, "Array contains more items than allowed") || starts(m, "Cannot validate item #"))
    return "has more items than the schema allows (additionalItems)";
  if (starts(m, "Missing dependency")) return "missing dependency '" + quoted_tail(m) + "' (dependencies)";
  if (starts(m, "Failed to validate against a conditional schema")) return "fails the if/then/else (if)";
  if (starts(m, "Failed to any values against subschema in 'contains'"))
    return "has no item matching 'contains' (contains)";
  return std::string(m);
}

namespace {

// First property name longer than `max` (depth-first), as a JSON pointer to its object.
bool find_long_key(const bj::value& v, size_t max, std::string& ptr, int depth = 0) {
  if (depth > 256) return false;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (kv.key().size() > max) return true;
      size_t n = ptr.size();
      detail::append_pointer_token(ptr, kv.key());
      if (find_long_key(kv.value(), max, ptr, depth + 1)) return true;
      ptr.resize(n);
    }
  } else if (v.is_array()) {
    size_t i = 0;
    for (const auto& e : v.get_array()) {
      size_t n = ptr.size();
      ptr += "/" + std::to_string(i++);
      if (find_long_key(e, max, ptr, depth + 1)) return true;
      ptr.resize(n);
    }
  }
  return false;
}

}  // namespace

bool validate_against(valijson::Validator& v, const CompiledSchema& schema, const bj::value& instance,
                      std::vector<SchemaError>& errors, size_t max_errors, bool known_invalid) {
  if (schema.has_pattern_properties) {
    // valijson 1.0 runs patternProperties with std::regex (backtracking, recursive): keep long keys away from it.
    std::string ptr;
    if (find_long_key(instance, kMaxPatternPropertyKey, ptr)) {
      errors.push_back({ptr, "has a property name longer than " + std::to_string(kMaxPatternPropertyKey) +
                                 " bytes, not matched against patternProperties (limit)"});
      return false;
    }
  }
  valijson::adapters::BoostJsonAdapter target(instance);
  if (!known_invalid) {
    bool ok;
    try {
      ok = v.validate(schema.schema, target, nullptr);
    } catch (const std::exception& e) {
      errors.push_back({"", std::string("schema evaluation failed: ") + e.what()});
      return false;
    }
    if (ok) return true;
  }
  valijson::ValidationResults results;
  try {
    // The collecting pass decides too: should it find the instance valid after all, valijson wins.
    if (v.validate(schema.schema, target, &results)) return true;
  } catch (const std::exception& e) {
    errors.push_back({"", std::string("schema evaluation failed: ") + e.what()});
    return false;
  }
  valijson::ValidationResults::Error err;
  std::vector<SchemaError> all;
  while (results.popError(err)) {
    std::string msg = describe_valijson_error(err.description);
    if (msg.empty()) continue;
    std::string ptr = context_to_pointer(err.context);
    if (msg == "has a type the schema does not allow (type)") {
      bj::error_code ec;
      if (const bj::value* at = instance.find_pointer(ptr, ec))
        msg = "has type " + std::string(json_type_name(*at)) + ", which the schema does not allow (type)";
    }
    all.push_back({std::move(ptr), std::move(msg)});
  }
  // Deepest first: the most precise error leads (anyOf/oneOf summaries at the parent come later).
  std::stable_sort(all.begin(), all.end(), [](const SchemaError& a, const SchemaError& b) {
    return a.pointer.size() > b.pointer.size();
  });
  for (auto& e : all) {
    if (errors.size() >= max_errors) break;
    errors.push_back(std::move(e));
  }
  if (errors.empty()) errors.push_back({"", "does not match the schema"});
  return false;
}

std::string_view json_type_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::object: return "object";
    case bj::kind::array: return "array";
    case bj::kind::string: return "string";
    case bj::kind::bool_: return "boolean";
    case bj::kind::null: return "null";
    case bj::kind::double_: return "number";
    default: return "integer";
  }
}

}  // namespace slipway::validators
