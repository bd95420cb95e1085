// Unit tests of the shadow comparison (gateway/shadow_compare.hpp): JSON semantic equality (key order,
// number formatting), tool choice and arguments (parallel calls in any order), JSON content, refusal,
// validity classes and the length ratio. The answers go through the real validators, as in the gateway.
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include <boost/json/parse.hpp>

#include "gateway/shadow.hpp"
#include "gateway/shadow_compare.hpp"
#include "validators/validator.hpp"

using namespace slipway;
using namespace slipway::shadow;
namespace v = slipway::validators;

namespace {

std::string chat_body(const std::string& content_json, int completion_tokens = 10) {
  return R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":)" + content_json +
         R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":)" +
         std::to_string(completion_tokens) + R"(,"total_tokens":15}})";
}

std::string quote(const std::string& s) {
  std::string out;
  v::append_json_string(out, s);
  return out;
}

std::string tool_body(const std::string& calls_json) {
  return R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":)" +
         calls_json + R"(},"finish_reason":"tool_calls"}]})";
}

std::string call(const std::string& name, const std::string& args_text) {
  return R"({"id":"c","type":"function","function":{"name":")" + name + R"(","arguments":)" + quote(args_text) + "}}";
}

const char* kToolsRequest = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[
  {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"number"}},"required":["city"]}}},
  {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}]})";

const char* kJsonRequest = R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})";
const char* kPlainRequest = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";

struct Pair {
  v::Validator validator;
  v::Expectations x;
  v::AssembledResponse b, c;
  v::Verdict bv, cv;

  Pair(const char* request, const std::string& baseline_body, const std::string& canary_body) {
    auto e = validator.expectations(request);
    REQUIRE(std::holds_alternative<v::Expectations>(e));
    x = std::get<v::Expectations>(e);
    b = v::assemble_completion(baseline_body);
    c = v::assemble_completion(canary_body);
    bv = validator.validate(x, b);
    cv = validator.validate(x, c);
  }
  Comparison compare() const { return compare_answers(x, {b, bv}, {c, cv}); }
};

}  // namespace

TEST_CASE("shadow compare: JSON equivalence ignores key order and number formatting", "[shadow]") {
  CHECK(json_text_equivalent(R"({"a":1,"b":[1,2,{"c":true}]})", R"({ "b" : [1, 2, {"c": true}], "a": 1 })"));
  CHECK(json_text_equivalent("1", "1.0"));
  CHECK(json_text_equivalent("100", "1e2"));
  CHECK(json_text_equivalent(R"({"n":-0.5})", R"({"n":-5e-1})"));
  CHECK(json_text_equivalent("18446744073709551615", "18446744073709551615"));
  CHECK_FALSE(json_text_equivalent("1", "1.5"));
  CHECK_FALSE(json_text_equivalent("[1,2]", "[2,1]"));                // arrays keep their order
  CHECK_FALSE(json_text_equivalent(R"({"a":1})", R"({"a":1,"b":2})"));
  CHECK_FALSE(json_text_equivalent(R"({"a":"1"})", R"({"a":1})"));     // a string is not a number
  CHECK_FALSE(json_text_equivalent("null", "false"));
  CHECK_FALSE(json_text_equivalent("{", "{}"));                        // one does not parse
  CHECK(json_text_equivalent("{", "{"));                               // neither parses: equal only when identical
  CHECK_FALSE(json_text_equivalent("{", "{ "));
}

TEST_CASE("shadow compare: same JSON content in another key order agrees", "[shadow]") {
  Pair p(kJsonRequest, chat_body(quote(R"({"answer":"yes","confidence":1})")),
         chat_body(quote(R"({"confidence":1.0,"answer":"yes"})")));
  auto c = p.compare();
  CHECK(c.validity == Validity::both_valid);
  CHECK(c.of(Aspect::json_content) == true);
  CHECK(c.of(Aspect::validity) == true);
  CHECK(c.of(Aspect::refusal) == true);
  CHECK_FALSE(c.of(Aspect::tool_choice));     // no tools offered: does not apply
  CHECK_FALSE(c.of(Aspect::tool_arguments));
  CHECK_FALSE(c.any_disagreement());
}

TEST_CASE("shadow compare: different JSON content and invalid JSON disagree", "[shadow]") {
  Pair different(kJsonRequest, chat_body(quote(R"({"answer":"yes"})")), chat_body(quote(R"({"answer":"no"})")));
  auto c = different.compare();
  CHECK(c.of(Aspect::json_content) == false);
  CHECK(c.of(Aspect::validity) == true);
  CHECK(c.any_disagreement());

  Pair broken(kJsonRequest, chat_body(quote(R"({"answer":"yes"})")), chat_body(quote(R"({"answer":"yes")")));
  c = broken.compare();
  CHECK(c.validity == Validity::only_baseline_valid);
  CHECK(c.of(Aspect::validity) == false);
  CHECK(c.of(Aspect::json_content) == false);

  Pair reversed(kJsonRequest, chat_body(quote(R"({"answer":)")), chat_body(quote(R"({"answer":1})")));
  CHECK(reversed.compare().validity == Validity::only_canary_valid);
  Pair both(kJsonRequest, chat_body(quote("nope")), chat_body(quote("nope!")));
  CHECK(both.compare().validity == Validity::both_invalid);
  CHECK(both.compare().of(Aspect::validity) == true);  // both failed: they agree on validity
}

TEST_CASE("shadow compare: plain text asks nothing of the content", "[shadow]") {
  Pair p(kPlainRequest, chat_body(quote("Hello there.")), chat_body(quote("Something else entirely.")));
  auto c = p.compare();
  CHECK_FALSE(c.of(Aspect::json_content));
  CHECK_FALSE(c.any_disagreement());
}

TEST_CASE("shadow compare: parallel tool calls in another order with reformatted arguments agree", "[shadow]") {
  Pair p(kToolsRequest,
         tool_body("[" + call("get_weather", R"({"city":"Oslo","days":1})") + "," + call("get_time", R"({"zone":"CET"})") + "]"),
         tool_body("[" + call("get_time", R"({ "zone": "CET" })") + "," + call("get_weather", R"({"days":1.0,"city":"Oslo"})") + "]"));
  auto c = p.compare();
  CHECK(c.of(Aspect::tool_choice) == true);
  CHECK(c.of(Aspect::tool_arguments) == true);
  CHECK(c.validity == Validity::both_valid);
  CHECK_FALSE(c.any_disagreement());
}

TEST_CASE("shadow compare: another tool, or other arguments, disagree", "[shadow]") {
  Pair other_tool(kToolsRequest, tool_body("[" + call("get_weather", R"({"city":"Oslo"})") + "]"),
                  tool_body("[" + call("get_time", R"({"zone":"CET"})") + "]"));
  auto c = other_tool.compare();
  CHECK(c.of(Aspect::tool_choice) == false);
  CHECK_FALSE(c.of(Aspect::tool_arguments));  // not comparable when the tools differ

  Pair no_call(kToolsRequest, tool_body("[" + call("get_weather", R"({"city":"Oslo"})") + "]"), chat_body(quote("It is sunny.")));
  CHECK(no_call.compare().of(Aspect::tool_choice) == false);

  Pair other_args(kToolsRequest, tool_body("[" + call("get_weather", R"({"city":"Oslo","days":1})") + "]"),
                  tool_body("[" + call("get_weather", R"({"city":"Oslo","days":2})") + "]"));
  c = other_args.compare();
  CHECK(c.of(Aspect::tool_choice) == true);
  CHECK(c.of(Aspect::tool_arguments) == false);
  CHECK(c.validity == Validity::both_valid);

  Pair wrong_type(kToolsRequest, tool_body("[" + call("get_weather", R"({"city":"Oslo"})") + "]"),
                  tool_body("[" + call("get_weather", R"({"city":7})") + "]"));
  c = wrong_type.compare();
  CHECK(c.validity == Validity::only_baseline_valid);
  CHECK(c.of(Aspect::tool_arguments) == false);

  // The same name twice: each call must find its own partner.
  Pair twice(kToolsRequest,
             tool_body("[" + call("get_time", R"({"zone":"CET"})") + "," + call("get_time", R"({"zone":"UTC"})") + "]"),
             tool_body("[" + call("get_time", R"({"zone":"CET"})") + "," + call("get_time", R"({"zone":"CET"})") + "]"));
  CHECK(twice.compare().of(Aspect::tool_arguments) == false);
}

TEST_CASE("shadow compare: refusal decisions, both and one", "[shadow]") {
  const std::string refusal = quote("I'm sorry, but I can't help with that.");
  Pair both(kPlainRequest, chat_body(refusal), chat_body(refusal));
  REQUIRE(both.bv.refusal);
  CHECK(both.compare().of(Aspect::refusal) == true);

  Pair one(kPlainRequest, chat_body(quote("Here is the recipe you asked for: flour, water, salt.")), chat_body(refusal));
  REQUIRE_FALSE(one.bv.refusal);
  REQUIRE(one.cv.refusal);
  auto c = one.compare();
  CHECK(c.of(Aspect::refusal) == false);
  CHECK(c.any_disagreement());
}

TEST_CASE("shadow compare: output length ratio is canary tokens over baseline tokens", "[shadow]") {
  Pair p(kPlainRequest, chat_body(quote("a b c d"), 10), chat_body(quote("a b c d e f"), 25));
  auto c = p.compare();
  REQUIRE(c.length_ratio);
  CHECK(*c.length_ratio == Approx(2.5));
  Pair no_usage(kPlainRequest, tool_body("[]"), chat_body(quote("x"), 3));
  CHECK_FALSE(no_usage.compare().length_ratio);
}

TEST_CASE("shadow body: a stream is mirrored as a non-streaming request, other bodies are unchanged", "[shadow]") {
  const std::string streaming =
      R"({"model":"m-int4","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";
  auto mirrored = boost::json::parse(shadow_body(streaming)).as_object();
  CHECK(mirrored.at("stream").as_bool() == false);
  CHECK_FALSE(mirrored.contains("stream_options"));
  CHECK(mirrored.at("model").as_string() == "m-int4");
  CHECK(mirrored.at("messages").as_array().size() == 1);

  const std::string plain = R"({"model":"m-int4",  "messages":[{"role":"user","content":"hi"}]})";
  CHECK(shadow_body(plain) == plain);  // byte for byte: the canary sees what the baseline saw
  const std::string not_streaming = R"({"model":"m","stream":false,"messages":[]})";
  CHECK(shadow_body(not_streaming) == not_streaming);
}
