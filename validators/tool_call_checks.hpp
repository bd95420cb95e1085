// Tool-call checks of one choice: declared names, arguments as a JSON object valid against `parameters`,
// tool_choice and parallel_tool_calls honoured, and tool calls leaked into the text content.
#pragma once

#include <string>
#include <string_view>

#include "validators/assembled_response.hpp"
#include "validators/request_expectations.hpp"
#include "validators/verdict.hpp"

namespace valijson {
class Validator;
}
namespace simdjson::dom {
class parser;
}

namespace slipway::validators {

// Adds tool_unknown_function / tool_args_invalid_json / tool_args_schema_violation / tool_choice_violated
// findings and the tool_calls / tool_calls_valid counts. `prefix` goes before each detail ("choice 1: ").
// With `fast_parser`, arguments are first checked on the compiled check tree; valijson runs only for
// arguments the tree does not prove valid (and words their findings).
void check_tool_calls(const Expectations& x, const AssembledChoice& c, valijson::Validator& v, Verdict& out,
                      std::string_view prefix = {}, simdjson::dom::parser* fast_parser = nullptr);

// When tools were offered and the choice has no tool_calls: does the content carry a tool call as text
// (<tool_call> markup and the like, or a JSON object whose "name" is a declared function and that has
// "arguments"/"parameters")? Returns true with a detail and the function name when found.
bool find_tool_call_in_content(const Expectations& x, std::string_view content, std::string& detail);

}  // namespace slipway::validators
