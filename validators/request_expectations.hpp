// What a request asked for, read once from its body: response format and schema, tools and their compiled
// parameter schemas, tool_choice, parallel_tool_calls, max_tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "validators/schema_cache.hpp"

namespace slipway::validators {

enum class ResponseFormatKind { text, json_object, json_schema };
enum class ToolChoiceKind { auto_, none, required, named };

std::string_view to_string(ResponseFormatKind);
std::string_view to_string(ToolChoiceKind);

struct ToolSpec {
  std::string name;
  SchemaHandle parameters;  // null: no `parameters` given (any JSON object is accepted)
  bool strict = false;
};

struct Expectations {
  bool is_chat = true;
  bool stream = false;
  ResponseFormatKind response_format = ResponseFormatKind::text;
  std::string format_source;  // "response_format", "guided_json", "structured_outputs"
  std::string schema_name;    // response_format.json_schema.name
  SchemaHandle schema;        // when response_format == json_schema
  std::vector<ToolSpec> tools;
  ToolChoiceKind tool_choice = ToolChoiceKind::auto_;
  std::string tool_choice_name;  // when tool_choice == named
  bool parallel_tool_calls = true;
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens

  const ToolSpec* find_tool(std::string_view name) const;
  // Tools were offered and tool_choice does not forbid calling them.
  bool tools_offered() const { return !tools.empty() && tool_choice != ToolChoiceKind::none; }
  // Nothing to check beyond truncation, emptiness and refusal.
  bool checks_structure() const { return response_format != ResponseFormatKind::text || !tools.empty(); }
};

// HTTP 400 in OpenAI's error shape: {"error":{"message":..,"type":"invalid_request_error","param":..}}.
struct RequestError {
  std::string message;
  std::string param;  // e.g. "response_format.json_schema.schema", "tools[2].function.parameters"
};
std::string to_openai_error_json(const RequestError&);

// The members a client sets per request rather than per application (`stream`, `max_tokens`,
// `max_completion_tokens`), and how parse_expectations reads them into `x`. The rest of Expectations
// depends only on the request's structure members, which the Validator caches by their text.
bool is_per_request_member(std::string_view key);
void read_per_request_members(const boost::json::object& request, Expectations& x);

// Parses the request body (JSON text) and compiles (or takes from `cache`) every schema it carries.
std::variant<Expectations, RequestError> parse_expectations(std::string_view request_json, SchemaCache& cache,
                                                            const Limits& limits);
std::variant<Expectations, RequestError> parse_expectations(const boost::json::value& request,
                                                            SchemaCache& cache, const Limits& limits);

}  // namespace slipway::validators
