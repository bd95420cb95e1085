// Fuzz target: the JSON Schema path. Input: one mode byte, the schema text, a NUL, the instance text.
// The schema goes into a chat request as response_format.json_schema.schema (mode bit 0 clear) or as
// the parameters of a required tool (bit 0 set); the instance comes back as the message content or
// as the tool call's arguments. Validator compiles the schema under its Limits (size, depth, subschema
// count, regex cost) or refuses it with a RequestError, then validates the response: fast path
// (simdjson + check tree) and valijson. Nothing may crash, hang or trip a sanitizer; a compiled schema
// must give a verdict.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "validators/validator.hpp"

namespace json = boost::json;
namespace v = slipway::validators;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool as_tool = data[0] & 1;
  const bool strict = data[0] & 2;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) return 0;
  std::string_view schema_text = rest.substr(0, nul), instance = rest.substr(nul + 1);

  json::parse_options opts;
  opts.max_depth = 128;  // deeper than Limits::max_schema_depth, so the validator's own limit is what refuses
  boost::system::error_code ec;
  json::value schema = json::parse(schema_text, ec, {}, opts);
  if (ec) return 0;

  json::object request{{"model", "m"},
                       {"messages", json::array{json::object{{"role", "user"}, {"content", "x"}}}}};
  json::object message{{"role", "assistant"}};
  if (as_tool) {
    request["tools"] = json::array{json::object{
        {"type", "function"},
        {"function", json::object{{"name", "f"}, {"parameters", schema}, {"strict", strict}}}}};
    request["tool_choice"] = "required";
    message["content"] = nullptr;
    message["tool_calls"] = json::array{json::object{
        {"id", "call_1"}, {"type", "function"},
        {"function", json::object{{"name", "f"}, {"arguments", json::string(instance)}}}}};
  } else {
    request["response_format"] = json::object{
        {"type", "json_schema"},
        {"json_schema", json::object{{"name", "s"}, {"schema", schema}, {"strict", strict}}}};
    message["content"] = json::string(instance);
  }
  json::object response{{"id", "r"}, {"object", "chat.completion"}, {"model", "m"},
                        {"choices", json::array{json::object{{"index", 0}, {"message", message},
                                                             {"finish_reason", as_tool ? "tool_calls" : "stop"}}}}};

  static v::Validator validator;
  auto x = validator.expectations(json::serialize(request));
  auto* expectations = std::get_if<v::Expectations>(&x);
  if (!expectations) return 0;  // refused under the limits: the gateway answers 400
  (void)validator.validate(*expectations, v::assemble_completion(json::serialize(response)));
  return 0;
}
