// JSON mode and JSON Schema checks of one JSON text: parse errors with their offset, schema violations as
// (JSON pointer, "what is wrong (rule)").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "validators/schema_cache.hpp"

namespace valijson {
class Validator;
}

namespace slipway::validators {

struct SchemaError {
  std::string pointer;  // into the instance, "" = root
  std::string message;  // e.g. "must be >= 0 (minimum)"
};

// Parses `text` as one JSON value (surrounding whitespace allowed). On failure `error` says why and where.
// Nesting deeper than 256 levels is reported as invalid.
// `sp` (e.g. a monotonic_resource) owns the nodes; it must outlive `out`.
bool parse_json_text(std::string_view text, boost::json::value& out, std::string& error,
                     boost::json::storage_ptr sp = {});

// Validates `instance`: fast pass first (stops at the first failure), then a full pass collecting at most
// `max_errors` errors, wrapper messages ("Failed to validate item #3") dropped. `known_invalid` (the check
// tree already said invalid) skips the fast pass; the collecting pass still has the last word.
bool validate_against(valijson::Validator& v, const CompiledSchema& schema, const boost::json::value& instance,
                      std::vector<SchemaError>& errors, size_t max_errors = 16, bool known_invalid = false);

// Turns valijson's context (["<root>", "[items]", "[3]"]) into a JSON pointer ("/items/3").
std::string context_to_pointer(const std::vector<std::string>& context);
// Rewrites a valijson message into "<what> (<rule>)"; empty when it is a wrapper message to drop.
std::string describe_valijson_error(std::string_view message);

// "json mode" text for the typename of a value, for details ("object", "array", "string", ...).
std::string_view json_type_name(const boost::json::value& v);

}  // namespace slipway::validators
