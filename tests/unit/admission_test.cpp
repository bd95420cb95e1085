// Admission: the facts pulled from a request body, bad input as OpenAI-style errors, the body rewrite.
#include <catch2/catch.hpp>

#include "gateway/admission.hpp"

using namespace slipway;

namespace {
std::variant<RequestFacts, ClientError> admit(const std::string& body, bool chat = true, std::size_t depth = 64) {
  static simdjson::dom::parser parser;
  REQUIRE(!parser.allocate(64 * 1024, depth));
  return admit_body(parser, body, chat);
}
}  // namespace

TEST_CASE("admission pulls out the fields the gateway routes and measures on") {
  auto r = admit(R"({"model":"llama","user":"u1","stream":true,"stream_options":{"include_usage":true},
      "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},
      "tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],
      "tool_choice":{"type":"function","function":{"name":"g"}},"max_completion_tokens":99,
      "messages":[{"role":"user","content":"hello"},{"role":"user","content":[{"type":"text","text":"abc"}]}]})");
  REQUIRE(std::holds_alternative<RequestFacts>(r));
  auto f = std::get<RequestFacts>(r);
  REQUIRE(f.model == "llama");
  REQUIRE(f.user == "u1");
  REQUIRE(f.stream);
  REQUIRE(f.client_wants_usage);
  REQUIRE(f.response_format == "json_schema");
  REQUIRE(f.tools == 2);
  REQUIRE(f.tool_choice == "g");
  REQUIRE(f.max_tokens == 99);
  REQUIRE(f.prompt_chars == 8);
}

TEST_CASE("bad bodies get precise client errors") {
  auto msg = [](const std::variant<RequestFacts, ClientError>& r) {
    REQUIRE(std::holds_alternative<ClientError>(r));
    return std::get<ClientError>(r);
  };
  REQUIRE(msg(admit("")).message.find("empty") != std::string::npos);
  REQUIRE(msg(admit("{\"model\":")).code == "invalid_json");
  REQUIRE(msg(admit("[1,2]")).message.find("JSON object") != std::string::npos);
  auto missing = msg(admit(R"({"messages":[]})"));
  REQUIRE(missing.param == "model");
  REQUIRE(msg(admit(R"({"model":7,"messages":[]})")).param == "model");
  REQUIRE(msg(admit(R"({"model":"m"})")).param == "messages");
  REQUIRE(msg(admit(R"({"model":"m","messages":[],"stream":"yes"})")).param == "stream");
  std::string deep = R"({"model":"m","messages":[)" + std::string(100, '[') + std::string(100, ']') + "]}";
  auto too_deep = msg(admit(deep, true, 32));
  REQUIRE(too_deep.code == "json_too_deep");
  REQUIRE(too_deep.message.find("32") != std::string::npos);
}

TEST_CASE("completions requests measure the prompt") {
  auto r = admit(R"({"model":"m","prompt":"12345"})", false);
  REQUIRE(std::get<RequestFacts>(r).prompt_chars == 5);
}

TEST_CASE("the rewrite changes only the model (and asks for usage when told)") {
  std::string body = R"({ "messages": [{"role":"user","content":"model: \"x\""}], "model" : "llama", "user":"u"})";
  REQUIRE(rewrite_body(body, "llama-int4", false) ==
          R"({ "messages": [{"role":"user","content":"model: \"x\""}], "model" : "llama-int4", "user":"u"})");
  std::string streamed = rewrite_body(R"({"model":"m","stream":true})", "m-fp16", true);
  REQUIRE(streamed == R"({"stream_options":{"include_usage":true},"model":"m-fp16","stream":true})");
  std::string opts = rewrite_body(R"({"model":"m","stream":true,"stream_options":{"include_usage":false}})", "m2", true);
  REQUIRE(opts == R"({"model":"m2","stream":true,"stream_options":{"include_usage":true}})");
  REQUIRE(rewrite_body(R"({"model":"m"})", "a\"b", false) == R"({"model":"a\"b"})");
}

TEST_CASE("a body that already names the served model goes upstream byte for byte") {
  std::string body = R"({ "model" : "llama-int4", "messages": [{"role":"user","content":"hi"}]})";
  REQUIRE(rewrite_body(body, "llama-int4", false) == body);
  // a stream still gets the usage request, with the model untouched
  REQUIRE(rewrite_body(R"({"model":"m","stream":true})", "m", true) ==
          R"({"stream_options":{"include_usage":true},"model":"m","stream":true})");
  // names that only share a prefix, or that the client wrote with an escape, are replaced
  REQUIRE(rewrite_body(R"({"model":"llama-int4x"})", "llama-int4", false) == R"({"model":"llama-int4"})");
  REQUIRE(rewrite_body(R"({"model":"llama"})", "llama-int4", false) == R"({"model":"llama-int4"})");
  REQUIRE(rewrite_body(R"({"model":"m\u0031"})", "m1", false) == R"({"model":"m1"})");
  REQUIRE(rewrite_body(R"({"model":"a\"b"})", "a\"b", false) == R"({"model":"a\"b"})");
}

TEST_CASE("find_top_level_value ignores nested keys of the same name") {
  std::string body = R"({"x":{"model":"inner"},"list":["model"],"model":"outer"})";
  auto span = find_top_level_value(body, "model");
  REQUIRE(span);
  REQUIRE(body.substr(span->offset, span->length) == "\"outer\"");
  REQUIRE_FALSE(find_top_level_value(body, "absent"));
}

// Found by fuzz-admission: admission (simdjson) reads "m\u006fdel" as "model"; the rewrite must replace that
// same value, or the upstream gets the client's model name instead of the served one.
TEST_CASE("the rewrite finds keys written with escapes, as admission does") {
  std::string body = R"({"m\u006fdel":"m","messages":[],"stream_opti\u006fns":{"include_usage":false}})";
  auto admitted = admit(body);
  REQUIRE(std::get<RequestFacts>(admitted).model == "m");
  REQUIRE(rewrite_body(body, "m-int4", true) ==
          R"({"m\u006fdel":"m-int4","messages":[],"stream_opti\u006fns":{"include_usage":true}})");
  REQUIRE(find_top_level_value(R"({"mod\"el":1,"model":2})", "model")->offset == 21);
  REQUIRE_FALSE(find_top_level_value(R"({"m\u006fdels":1})", "model"));
}

TEST_CASE("a chat request that asks for no structure gets, from admission's facts, the validator's own expectations") {
  validators::SchemaCache cache(8);
  validators::Limits limits;
  auto same_as_validator = [&](const std::string& body) {
    auto r = admit(body);
    REQUIRE(std::holds_alternative<RequestFacts>(r));
    auto plain = plain_chat_expectations(std::get<RequestFacts>(r), true);
    REQUIRE(plain.has_value());
    auto full = validators::parse_expectations(body, cache, limits);
    REQUIRE(std::holds_alternative<validators::Expectations>(full));
    const auto& x = std::get<validators::Expectations>(full);
    CHECK(plain->is_chat == x.is_chat);
    CHECK(plain->stream == x.stream);
    CHECK(plain->max_tokens == x.max_tokens);
    CHECK(plain->response_format == x.response_format);
    CHECK(plain->tools.empty() == x.tools.empty());
    CHECK(plain->tool_choice == x.tool_choice);
    CHECK(plain->checks_structure() == x.checks_structure());
  };
  same_as_validator(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  same_as_validator(R"({"model":"m","stream":true,"max_tokens":64,"messages":[]})");
  same_as_validator(R"({"model":"m","max_completion_tokens":7,"max_tokens":64,"messages":[]})");
  same_as_validator(R"({"model":"m","max_tokens":64.5,"messages":[],"response_format":null,"tools":null})");
  same_as_validator(R"({"model":"m","stream":false,"messages":[],"parallel_tool_calls":false})");

  // Anything that gives the answer a shape leaves the request to the validator, even when escaped.
  for (std::string body : {R"({"model":"m","messages":[],"response_format":{"type":"json_object"}})",
                           R"({"model":"m","messages":[],"response_format":{"type":"text"}})",
                           R"({"model":"m","messages":[],"response_format":7})",
                           R"({"model":"m","messages":[],"guided_json":{"type":"object"}})",
                           R"({"model":"m","messages":[],"structured_outputs":{"json":{}}})",
                           R"({"model":"m","messages":[],"tools":[]})",
                           R"({"model":"m","messages":[],"tool_choice":"none"})",
                           R"({"model":"m","messages":[],"\u0074ools":[{"type":"function","function":{"name":"f"}}]})"}) {
    auto r = admit(body);
    REQUIRE(std::holds_alternative<RequestFacts>(r));
    CHECK_FALSE(plain_chat_expectations(std::get<RequestFacts>(r), true).has_value());
  }
  // A completions request is read by the validator too ("prompt" decides is_chat there).
  auto r = admit(R"({"model":"m","prompt":"x"})", false);
  REQUIRE(std::holds_alternative<RequestFacts>(r));
  CHECK_FALSE(plain_chat_expectations(std::get<RequestFacts>(r), false).has_value());
}
