// expectations() reads only the request members it needs (request_members.cpp) instead of parsing the whole
// body with Boost.JSON. It must give exactly what parsing the whole body gave: the same Expectations (schemas
// compared by their canonical text, which is also the cache key) or the same RequestError, on a corpus of
// requests with awkward conversations (escaped quotes, backslashes, brackets inside strings), duplicate and
// escaped keys, odd numbers, deep nesting, invalid bodies.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <simdjson.h>

#include "validators/request_expectations.hpp"
#include "validators/request_members.hpp"
#include "validators/expectations_cache.hpp"
#include "validators/validator.hpp"

using namespace slipway::validators;
namespace bj = boost::json;

namespace {

// The previous path: the whole body through Boost.JSON.
std::variant<Expectations, RequestError> whole_body(std::string_view body, SchemaCache& cache, const Limits& limits) {
  bj::error_code ec;
  bj::parse_options po;
  po.max_depth = 512;
  bj::value v = bj::parse(body, ec, {}, po);
  if (ec) return RequestError{"request body is not valid JSON: " + ec.message(), ""};
  return parse_expectations(v, cache, limits);
}

std::string describe(const std::variant<Expectations, RequestError>& r) {
  if (auto* e = std::get_if<RequestError>(&r)) return "error{" + e->message + "|" + e->param + "}";
  const auto& x = std::get<Expectations>(r);
  std::string s = "chat=" + std::to_string(x.is_chat) + " stream=" + std::to_string(x.stream) +
                  " rf=" + std::string(to_string(x.response_format)) + " src=" + x.format_source +
                  " name=" + x.schema_name + " schema=" + (x.schema ? x.schema->canonical : "-") +
                  " choice=" + std::string(to_string(x.tool_choice)) + ":" + x.tool_choice_name +
                  " parallel=" + std::to_string(x.parallel_tool_calls) +
                  " max=" + (x.max_tokens ? std::to_string(*x.max_tokens) : "-");
  for (const auto& t : x.tools)
    s += " tool{" + t.name + "|" + std::to_string(t.strict) + "|" + (t.parameters ? t.parameters->canonical : "-") + "}";
  return s;
}

const char* kConversation =
    R"("messages":[{"role":"system","content":"Quote: \"{[not a bracket]}\" and a backslash \\"},)"
    R"({"role":"user","content":[{"type":"text","text":"ends with two backslashes \\\\"},{"type":"text","text":"caf\u00e9 \ud83d\ude00 }]"}]},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2,{\"b\":\"}\"}]}"}}]},)"
    R"({"role":"tool","tool_call_id":"c1","content":"\"tools\": [\"not\", \"these\"], \"response_format\": 1"}])";

std::vector<std::string> corpus() {
  std::vector<std::string> bodies;
  const std::vector<std::string> tails = {
      R"("response_format":{"type":"json_schema","json_schema":{"name":"o","schema":{"type":"object","properties":{"a":{"type":"number","maximum":0.1000000000000000055511151231257827}},"required":["a"]}}})",
      R"("response_format":{"type":"json_object"},"max_tokens":5)",
      R"("response_format":{"type":"xml"})",
      R"("guided_json":"{\"type\":\"array\",\"items\":{\"enum\":[1,1.0,\"x\"]}}","max_completion_tokens":18446744073709551615)",
      R"("structured_outputs":{"json":{"type":"string","pattern":"^a+$"}},"stream":true)",
      R"("tools":[{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"noop"}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false)",
      R"("tools":[{"type":"function","function":{"name":"f","parameters":{"multipleOf":0}}}])",
      R"("tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}])",
      R"("tool_choice":"required")",
      R"("max_tokens":-3,"stream":"yes","parallel_tool_calls":null)",
      R"("max_tokens":1e3)",
      R"("response_format":{"type":"json_schema","json_schema":{"name":"d","schema":{"properties":{"a":{"type":"string"},"a":{"type":"integer"}},"type":"object"}}})",
      R"("response_format":null,"tools":null,"tool_choice":null)",
  };
  for (const auto& t : tails) {
    bodies.push_back(std::string("{\"model\":\"m\",") + kConversation + "," + t + "}");
    bodies.push_back("{" + t + ",\"model\":\"m\"," + kConversation + "}");
    bodies.push_back(" \n{ " + t + " ,\t\"prompt\" : \"hello \\\" }\" }\r\n");
    // A repeated member: Boost.JSON keeps the last value.
    bodies.push_back("{" + t + ",\"messages\":[]," + t.substr(0, t.find(':') + 1) + "null}");
    bodies.push_back("{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"early\"}}]," + t + "}");
  }
  // Escaped keys.
  bodies.push_back(R"({"\u0074ools":[{"type":"function","function":{"name":"esc"}}],"messages":[]})");
  bodies.push_back(R"({"respo\u006ese_format":{"type":"json_object"},"pr\u006fmpt":"x"})");
  bodies.push_back(R"({"messages\u0000":[],"prompt":"x"})");
  // Not objects, not JSON, empty.
  for (const char* b : {"[]", "\"x\"", "1", "null", "", "   ", "{", "{\"a\":}", "{\"a\":1,}", "{} x", "{\"messages\":[tru]}",
                        "{\"max_tokens\":18446744073709551616}", "{\"messages\":\"\xff\"}", "{}", "{\"prompt\":\"\\ud800\"}"})
    bodies.push_back(b);
  // Nesting: 300 deep (simdjson's 256 declines, Boost.JSON's 512 accepts), 600 deep (both refuse).
  for (int depth : {100, 300, 600})
    bodies.push_back("{\"messages\":" + std::string(depth, '[') + std::string(depth, ']') +
                     ",\"response_format\":{\"type\":\"json_object\"}}");
  // A long conversation.
  std::string turns;
  while (turns.size() < 70000) turns += R"({"role":"user","content":"a \"quoted\" {brace} and \\ backslash"},)";
  bodies.push_back("{\"messages\":[" + turns + R"({"role":"user","content":"end"}],"tools":[{"type":"function","function":{"name":"late"}}]})");
  return bodies;
}

}  // namespace

TEST_CASE("expectations from the members read equal expectations from the whole body", "[validators][request]") {
  Limits limits;
  SchemaCache old_cache(64), new_cache(64);
  size_t declined = 0, n = 0;
  for (const auto& body : corpus()) {
    ++n;
    auto members = read_request_members(body);
    if (!members) ++declined;
    auto a = whole_body(body, old_cache, limits);
    // The members path for every body (parse_expectations takes it only from kMembersOnlyMinBytes on) ...
    auto b = members ? parse_expectations(*members, new_cache, limits) : whole_body(body, new_cache, limits);
    // ... and the entry point as the gateway calls it.
    auto c = parse_expectations(body, new_cache, limits);
    INFO("body: " << body.substr(0, 300));
    CHECK(describe(a) == describe(b));
    CHECK(describe(a) == describe(c));
  }
  // Most of the corpus takes the new path; the declined ones are the invalid and over-deep bodies.
  CHECK(n - declined >= 60);
  CHECK(declined >= 12);
}

TEST_CASE("read_request_members keeps what the validators read and drops the conversation", "[validators][request]") {
  auto m = read_request_members(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2,
                                    "tools":[{"type":"function","function":{"name":"f"}}],"max_tokens":7})");
  REQUIRE(m);
  const auto& o = m->get_object();
  CHECK(o.size() == 3);
  CHECK(o.at("messages").is_null());  // presence only
  CHECK(o.at("max_tokens").as_int64() == 7);
  CHECK(o.at("tools").as_array().size() == 1);
  CHECK_FALSE(o.contains("model"));
  CHECK_FALSE(read_request_members("[1]"));
  CHECK_FALSE(read_request_members("{\"a\":"));
}

TEST_CASE("the validator's cached expectations equal expectations from the whole body", "[validators][request]") {
  Limits limits;
  SchemaCache reference_cache(64);
  Validator v(limits);
  auto bodies = corpus();
  // Per-request members changed around the same structure: a hit must read them afresh.
  for (const char* per_request : {R"("max_tokens":7,)", R"("max_tokens":8,"stream":true,)",
                                  R"("max_completion_tokens":9,"stream":false,)", R"("stream":true,"max_tokens":1.5,)", ""})
    bodies.push_back(std::string("{") + per_request +
                     R"("messages":[],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})");
  // Twice over: the second pass answers from the cache wherever the first one kept something.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& body : bodies) {
      INFO("pass " << pass << " body: " << body.substr(0, 300));
      CHECK(describe(v.expectations(body)) == describe(whole_body(body, reference_cache, limits)));
    }
  CHECK(v.expectations_cache().hits() >= bodies.size() / 2);
}

TEST_CASE("a body the caller has parsed is scanned without a second parse, with the same result", "[validators][request]") {
  Limits limits;
  SchemaCache reference_cache(64);
  Validator v(limits);
  simdjson::dom::parser admission;  // as the gateway's admission parses: deeper than the scan's own 256
  REQUIRE(admission.allocate(1 << 20, 1024) == simdjson::SUCCESS);
  size_t valid = 0;
  for (const auto& body : corpus()) {
    simdjson::dom::element root;
    if (admission.parse(body.data(), body.size()).get(root) || !root.is_object()) continue;
    ++valid;
    INFO("body: " << body.substr(0, 300));
    auto checked = scan_request_members(body);
    auto trusted = scan_request_members(body, JsonText::valid);
    REQUIRE(trusted);
    if (checked) {
      CHECK(ExpectationsCache::key_of(*checked) == ExpectationsCache::key_of(*trusted));
      CHECK(describe(v.expectations(body, JsonText::valid)) == describe(whole_body(body, reference_cache, limits)));
    }
  }
  CHECK(valid >= 60);
  // Deeper than Boost.JSON's 512 in the conversation, which the validators do not read: the structure members
  // still decide (the unchecked path words a depth error from the whole-body parse).
  std::string deep = "{\"messages\":" + std::string(600, '[') + std::string(600, ']') +
                     ",\"response_format\":{\"type\":\"json_object\"}}";
  auto x = v.expectations(deep, JsonText::valid);
  REQUIRE(std::holds_alternative<Expectations>(x));
  CHECK(std::get<Expectations>(x).response_format == ResponseFormatKind::json_object);
  CHECK(std::holds_alternative<RequestError>(v.expectations(deep)));
}

TEST_CASE("the expectations cache keys on structure members only and stays within its bounds", "[validators][request]") {
  auto key = [](std::string_view body) {
    auto texts = scan_request_members(body);
    REQUIRE(texts);
    return ExpectationsCache::key_of(*texts);
  };
  std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  CHECK(key("{" + tools + R"(,"messages":[1],"max_tokens":5,"temperature":1})") ==
        key("{" + tools + R"(,"messages":[2,3],"stream":true,"model":"x"})"));
  CHECK(key("{" + tools + R"(,"messages":[]})") != key("{" + tools + R"(,"prompt":"p"})"));
  CHECK(key("{" + tools + "}") != key("{" + tools + "," + tools + "}"));  // a repeated member counts
  CHECK(key(R"({"tool_choice":"none","parallel_tool_calls":false})") !=
        key(R"({"parallel_tool_calls":false,"tool_choice":"none"})"));
  CHECK(key(R"({"\u0074ools":[]})") == key(R"({"tools":[]})"));  // keys compared unescaped

  Expectations x;
  ExpectationsCache by_count(2, 1 << 20, 100);
  by_count.insert("a", x);
  by_count.insert("b", x);
  CHECK(by_count.find("a"));  // now the most recent
  by_count.insert("c", x);
  CHECK(by_count.size() == 2);
  CHECK_FALSE(by_count.find("b"));
  CHECK(by_count.find("a"));
  by_count.insert(std::string(101, 'k'), x);  // longer than one key may be
  CHECK_FALSE(by_count.find(std::string(101, 'k')));
  ExpectationsCache by_bytes(100, 250, 100);
  for (char c : {'a', 'b', 'c'}) by_bytes.insert(std::string(100, c), x);
  CHECK(by_bytes.size() == 2);
  CHECK(by_bytes.bytes() == 200);
  CHECK_FALSE(by_bytes.find(std::string(100, 'a')));
}
