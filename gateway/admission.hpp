// Admission: the request body is parsed once (simdjson DOM, depth-limited) and the few fields the
// gateway needs are pulled out. Bad input ends here with an OpenAI-style error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <simdjson.h>

#include "validators/request_expectations.hpp"

namespace slipway {

struct RequestFacts {
  std::string model;
  std::string user;
  bool stream = false;
  bool client_wants_usage = false;     // stream_options.include_usage was true
  std::string response_format;         // "", "text", "json_object", "json_schema"
  bool guided_json = false;
  std::size_t tools = 0;
  std::string tool_choice;             // "", "auto", "none", "required", or the named function
  std::optional<int64_t> max_tokens;   // max_tokens or max_completion_tokens
  std::size_t prompt_chars = 0;        // characters of message contents (or the completion prompt)
  // response_format, guided_json, structured_outputs, tools or tool_choice is present (not null): the
  // answer has a shape to check, and the validator reads the request itself.
  bool asks_for_structure = false;
};

struct ClientError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;
  std::string code;
};

// Parses `body` (a JSON object) for a completions or chat completions request.
std::variant<RequestFacts, ClientError> admit_body(simdjson::dom::parser& parser, std::string_view body,
                                                   bool chat);

// What a chat request that asks for no structure expects of its answer (truncation, emptiness, refusal
// only), from the facts admission read: the same Expectations as validators::parse_expectations gives for
// that body, without parsing it again (a Boost.JSON parse, ~4 % of a small request's CPU, measured).
// nullopt when the validator must read the request (it asks for structure, or it is not a chat request).
std::optional<validators::Expectations> plain_chat_expectations(const RequestFacts& facts, bool chat);

// The position of a top-level key's value in a JSON object text already known to be valid.
struct TextSpan {
  std::size_t offset = 0;
  std::size_t length = 0;
};
std::optional<TextSpan> find_top_level_value(std::string_view json_object, std::string_view key);

// The body sent upstream: the same bytes, with "model" replaced by the served model name and, when
// `request_usage` is set, stream_options.include_usage turned on (the relay strips the usage chunk
// again for a client that did not ask for it).
std::string rewrite_body(std::string_view body, std::string_view served_model, bool request_usage);

// JSON string literal (with quotes) for `s`.
std::string json_quote(std::string_view s);

}  // namespace slipway
