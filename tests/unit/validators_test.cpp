// Unit tests of the validators library: every finding kind with its JSON pointer, schema features, limits.
#include <catch2/catch.hpp>

#include <string>

#include "validators/validator.hpp"

using namespace slipway::validators;

namespace {

std::string chat_body(const std::string& content_json, const std::string& finish = "stop",
                      const std::string& extra_message = "") {
  return R"({"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":)" +
         content_json + extra_message + R"(},"finish_reason":")" + finish +
         R"("}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})";
}

std::string quote(const std::string& s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string tool_body(const std::string& calls_json, const std::string& finish = "tool_calls") {
  return R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":)" +
         calls_json + R"(},"finish_reason":")" + finish + R"("}]})";
}

std::string call(const std::string& name, const std::string& args_text, const std::string& id = "call_1") {
  return R"({"id":")" + id + R"(","type":"function","function":{"name":")" + name + R"(","arguments":)" +
         quote(args_text) + "}}";
}

const char* kSchema = R"({
  "type":"object",
  "properties":{
    "order_id":{"type":"string","pattern":"^ORD-[0-9]{6}$"},
    "placed":{"type":"string","format":"date-time"},
    "day":{"type":"string","format":"date"},
    "email":{"type":"string","format":"email"},
    "uuid":{"type":"string","format":"uuid"},
    "status":{"enum":["open","paid","shipped"]},
    "kind":{"const":"order"},
    "items":{"type":"array","minItems":1,"maxItems":5,"items":{"$ref":"#/$defs/item"}},
    "note":{"anyOf":[{"type":"string","maxLength":10},{"type":"null"}]},
    "tree":{"$ref":"#/$defs/node"}
  },
  "required":["order_id","status","items"],
  "additionalProperties":false,
  "$defs":{
    "item":{"type":"object","properties":{"sku":{"type":"string","minLength":3},"price":{"type":"number","minimum":0},
            "qty":{"type":"integer","exclusiveMinimum":0}},"required":["sku","price"],"additionalProperties":false},
    "node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
            "required":["value"]}
  }
})";

std::string schema_request(const std::string& schema = kSchema) {
  return R"({"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"order","schema":)" +
         schema + "}}}";
}

const char* kGood = R"({"order_id":"ORD-123456","placed":"2024-05-01T10:00:00Z","day":"2024-02-29","email":"a.b@example.com",
  "uuid":"123e4567-e89b-12d3-a456-426614174000","status":"paid","kind":"order",
  "items":[{"sku":"abc","price":1.5,"qty":2},{"sku":"defg","price":0}],"note":null,
  "tree":{"value":1,"children":[{"value":2,"children":[{"value":3}]}]}})";

Expectations expect(Validator& v, const std::string& req) {
  auto r = v.expectations(req);
  if (auto* e = std::get_if<RequestError>(&r)) FAIL("unexpected RequestError: " << e->message);
  return std::get<Expectations>(std::move(r));
}

Verdict run(Validator& v, const std::string& req, const std::string& resp) {
  auto x = expect(v, req);
  return v.validate(x, assemble_completion(resp));
}

bool has_detail(const Verdict& v, FindingKind k, const std::string& needle, const std::string& path = "\x01") {
  for (const auto& f : v.findings)
    if (f.kind == k && f.detail.find(needle) != std::string::npos && (path == "\x01" || f.path == path)) return true;
  return false;
}

std::string dump(const Verdict& v) { return to_json(v); }

const char* kPlain = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

const char* kTools = R"({"model":"m","messages":[{"role":"user","content":"weather?"}],
 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
   "properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":7}},
   "required":["city"],"additionalProperties":false}}},
  {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}]
 TOOL_CHOICE })";

std::string tools_request(const std::string& tail = "") {
  std::string s = kTools;
  s.replace(s.find("TOOL_CHOICE"), 11, tail);
  return s;
}

}  // namespace

TEST_CASE("finding kinds have stable names", "[validators]") {
  CHECK(to_string(FindingKind::json_invalid) == "json_invalid");
  CHECK(to_string(FindingKind::tool_call_in_content) == "tool_call_in_content");
  CHECK(to_string(FindingKind::assembled_too_large) == "assembled_too_large");
  FindingKind k;
  REQUIRE(finding_kind_from_string("tool_args_schema_violation", k));
  CHECK(k == FindingKind::tool_args_schema_violation);
}

TEST_CASE("a valid structured output passes", "[validators][schema]") {
  Validator v;
  auto verdict = run(v, schema_request(), chat_body(quote(kGood)));
  INFO(dump(verdict));
  CHECK(verdict.ok());
  CHECK(verdict.findings.empty());
}

TEST_CASE("schema violations carry the JSON pointer and the rule", "[validators][schema]") {
  Validator v;
  struct Case {
    std::string from, to, pointer, rule;
  };
  std::vector<Case> cases = {
      {"\"price\":1.5", "\"price\":-1", "/items/0/price", "must be >= 0 (minimum)"},
      {"\"qty\":2", "\"qty\":0", "/items/0/qty", "(exclusiveMinimum)"},
      {"\"status\":\"paid\"", "\"status\":\"lost\"", "/status", "(enum)"},
      {"\"kind\":\"order\"", "\"kind\":\"refund\"", "/kind", "(const)"},
      {"ORD-123456", "ORD-12x456", "/order_id", "(pattern)"},
      {"2024-05-01T10:00:00Z", "2024-05-01 10:00", "/placed", "valid date-time (format)"},
      {"2024-02-29", "2023-02-29", "/day", "valid date (format)"},
      {"a.b@example.com", "not-an-email", "/email", "valid email (format)"},
      {"123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-42661417400", "/uuid", "valid uuid (format)"},
      {"\"note\":null", "\"note\":\"far too long for ten\"", "/note", "(anyOf)"},
      {"{\"value\":3}", "{\"value\":\"3\"}", "/tree/children/0/children/0/value", "(type)"},
      {"\"sku\":\"abc\"", "\"sku\":\"ab\"", "/items/0/sku", "at least 3 characters (minLength)"},
      {"\"kind\":\"order\"", "\"kind\":\"order\",\"extra\":1", "", "property 'extra' is not allowed (additionalProperties)"},
      {"\"order_id\":\"ORD-123456\",", "", "", "required property 'order_id' is missing (required)"},
      {"{\"sku\":\"defg\",\"price\":0}", "{\"sku\":\"defg\"}", "/items/1", "required property 'price' is missing (required)"},
  };
  for (const auto& c : cases) {
    std::string doc = kGood;
    auto p = doc.find(c.from);
    REQUIRE(p != std::string::npos);
    doc.replace(p, c.from.size(), c.to);
    auto verdict = run(v, schema_request(), chat_body(quote(doc)));
    INFO(c.pointer << " " << c.rule << " => " << dump(verdict));
    CHECK_FALSE(verdict.ok());
    CHECK(has_detail(verdict, FindingKind::schema_violation, c.rule, c.pointer));
    CHECK(has_detail(verdict, FindingKind::schema_violation, (c.pointer.empty() ? "/" : c.pointer) + ": "));
  }
  // Too many items: maxItems.
  std::string many = R"({"order_id":"ORD-000001","status":"open","items":[)";
  for (int i = 0; i < 6; ++i) many += std::string(i ? "," : "") + R"({"sku":"abc","price":1})";
  many += "]}";
  auto verdict = run(v, schema_request(), chat_body(quote(many)));
  CHECK(has_detail(verdict, FindingKind::schema_violation, "/items: must have at most 5 items (maxItems)", "/items"));
}

TEST_CASE("schemas are compiled once and cached", "[validators][schema]") {
  Validator v;
  // Five requests that differ around the same schema (so each is read, and its schema looked up).
  for (int i = 0; i < 5; ++i) {
    std::string req = schema_request();
    req.replace(req.find("\"order\""), 7, "\"order" + std::to_string(i) + "\"");
    (void)expect(v, req);
  }
  CHECK(v.schema_cache().misses() == 1);
  CHECK(v.schema_cache().hits() == 4);
  CHECK(v.expectations_cache().hits() == 0);
  Limits small;
  small.schema_cache_entries = 2;
  Validator w(small);
  for (int i = 0; i < 4; ++i)
    (void)expect(w, schema_request(R"({"type":"object","properties":{"a)" + std::to_string(i) + R"(":{"type":"string"}}})"));
  CHECK(w.schema_cache().size() == 2);
}

TEST_CASE("json mode: content must be a JSON object", "[validators][json]") {
  Validator v;
  std::string req = R"({"model":"m","messages":[],"response_format":{"type":"json_object"}})";
  CHECK(run(v, req, chat_body(quote(R"({"a":1})"))).ok());
  auto bad = run(v, req, chat_body(quote(R"({"a":1,)")));
  INFO(dump(bad));
  CHECK(has_detail(bad, FindingKind::json_invalid, "/content: not valid JSON at byte"));
  auto arr = run(v, req, chat_body(quote("[1,2]")));
  CHECK(has_detail(arr, FindingKind::json_invalid, "/content: must be a JSON object, got array"));
  auto fenced = run(v, req, chat_body(quote("```json\n{\"a\":1}\n```")));
  CHECK(has_detail(fenced, FindingKind::json_invalid, "fence"));
}

TEST_CASE("guided_json and structured_outputs are honoured", "[validators][json]") {
  Validator v;
  std::string req = R"({"model":"m","prompt":"x","guided_json":{"type":"object","required":["a"]}})";
  auto x = expect(v, req);
  CHECK_FALSE(x.is_chat);
  CHECK(x.format_source == "guided_json");
  std::string text_resp = R"({"object":"text_completion","choices":[{"index":0,"text":"{\"b\":1}","finish_reason":"stop"}]})";
  auto verdict = v.validate(x, assemble_completion(text_resp));
  CHECK(has_detail(verdict, FindingKind::schema_violation, "required property 'a' is missing"));
  std::string req2 = R"({"model":"m","messages":[],"guided_json":"{\"type\":\"array\"}"})";
  CHECK(has_detail(run(v, req2, chat_body(quote("{}"))), FindingKind::schema_violation, "(type)"));
  std::string req3 = R"({"model":"m","messages":[],"structured_outputs":{"json":{"type":"integer"}}})";
  CHECK(run(v, req3, chat_body(quote("42"))).ok());
}

TEST_CASE("tool calls: declared names, JSON object arguments, parameters schema", "[validators][tools]") {
  Validator v;
  auto ok = run(v, tools_request(), tool_body("[" + call("get_weather", R"({"city":"Paris","unit":"c"})") + "]"));
  INFO(dump(ok));
  CHECK(ok.ok());
  CHECK(ok.tool_calls == 1);
  CHECK(ok.tool_calls_valid == 1);

  auto unknown = run(v, tools_request(), tool_body("[" + call("get_wether", R"({"city":"Paris"})") + "]"));
  CHECK(has_detail(unknown, FindingKind::tool_unknown_function, "tool_calls[0] get_wether: function \"get_wether\" is not declared",
                   "/tool_calls/0/function/name"));

  auto bad_json = run(v, tools_request(), tool_body("[" + call("get_weather", R"({"city":"Paris")") + "]"));
  CHECK(has_detail(bad_json, FindingKind::tool_args_invalid_json, "not valid JSON", "/tool_calls/0/function/arguments"));

  auto not_obj = run(v, tools_request(), tool_body("[" + call("get_weather", R"(["Paris"])") + "]"));
  CHECK(has_detail(not_obj, FindingKind::tool_args_invalid_json, "must be a JSON object, got array"));

  auto schema = run(v, tools_request(), tool_body("[" + call("get_weather", R"({"city":"Paris","days":9})") + "]"));
  CHECK(has_detail(schema, FindingKind::tool_args_schema_violation, "get_weather: /days: must be <= 7 (maximum)", "/days"));
  CHECK(schema.tool_calls_valid == 0);

  auto empty = run(v, tools_request(), tool_body("[" + call("get_weather", "") + "]"));
  INFO(dump(empty));
  CHECK(has_detail(empty, FindingKind::tool_args_schema_violation, "required property 'city' is missing"));
  CHECK(has_detail(empty, FindingKind::tool_args_schema_violation, "arguments were empty"));
  // A function with no required parameters may be called with empty arguments.
  CHECK(run(v, tools_request(), tool_body("[" + call("get_time", "") + "]")).ok());
}

TEST_CASE("tool_choice and parallel_tool_calls are honoured", "[validators][tools]") {
  Validator v;
  std::string two = "[" + call("get_weather", R"({"city":"A"})", "c1") + "," + call("get_time", "{}", "c2") + "]";
  auto required = run(v, tools_request(R"(,"tool_choice":"required")"), chat_body(quote("It is sunny.")));
  CHECK(has_detail(required, FindingKind::tool_choice_violated, "\"required\" but no tool was called", "/tool_calls"));

  auto none = run(v, tools_request(R"(,"tool_choice":"none")"), tool_body(two));
  CHECK(has_detail(none, FindingKind::tool_choice_violated, "tool_choice is \"none\""));

  std::string named = R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})";
  auto wrong = run(v, tools_request(named), tool_body("[" + call("get_time", "{}") + "]"));
  CHECK(has_detail(wrong, FindingKind::tool_choice_violated, "tool_choice names \"get_weather\"", "/tool_calls/0/function/name"));
  CHECK(run(v, tools_request(named), tool_body("[" + call("get_weather", R"({"city":"A"})") + "]")).ok());

  auto parallel = run(v, tools_request(R"(,"parallel_tool_calls":false)"), tool_body(two));
  CHECK(has_detail(parallel, FindingKind::tool_choice_violated, "parallel_tool_calls is false but the response has 2 tool calls"));
  CHECK(run(v, tools_request(), tool_body(two)).ok());
}

TEST_CASE("a tool call leaked into content is a failure", "[validators][tools]") {
  Validator v;
  auto markup = run(v, tools_request(),
                    chat_body(quote("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>")));
  INFO(dump(markup));
  CHECK(has_detail(markup, FindingKind::tool_call_in_content, "/content: tool-call markup \"<tool_call>\"", "/content"));
  CHECK_FALSE(markup.ok());

  auto json = run(v, tools_request(), chat_body(quote("Calling: {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}")));
  CHECK(has_detail(json, FindingKind::tool_call_in_content, "declared function \"get_weather\""));

  // Undeclared names and ordinary JSON are not tool calls; without tools nothing is looked for.
  CHECK(run(v, tools_request(), chat_body(quote("{\"name\": \"Bob\", \"arguments\": 3}"))).ok());
  CHECK(run(v, tools_request(), chat_body(quote("The weather in Paris is sunny."))).ok());
  CHECK(run(v, kPlain, chat_body(quote("<tool_call>{\"name\":\"get_weather\",\"arguments\":{}}</tool_call>"))).ok());
}

TEST_CASE("refusal, truncation and empty responses", "[validators]") {
  Validator v;
  auto refusal = run(v, kPlain, chat_body(quote("I'm sorry, but I can't help with that request.")));
  CHECK(refusal.refusal);
  CHECK(refusal.ok());  // a label, not a failure
  CHECK(has_detail(refusal, FindingKind::refusal, "/content: refusal cue", "/content"));

  auto field = run(v, schema_request(), chat_body("null", "stop", R"(,"refusal":"I can't assist with that.")"));
  CHECK(field.refusal);
  CHECK(has_detail(field, FindingKind::refusal, "/refusal: the refusal field is set", "/refusal"));
  CHECK_FALSE(field.has(FindingKind::empty));
  CHECK_FALSE(field.has(FindingKind::json_invalid));

  auto cut = run(v, R"({"model":"m","messages":[],"max_tokens":5})", chat_body(quote("The answer is"), "length"));
  CHECK(cut.truncated);
  CHECK(has_detail(cut, FindingKind::truncated, "/finish_reason: \"length\" (max_tokens 5)", "/finish_reason"));
  CHECK(cut.ok());

  auto cut_json = run(v, schema_request(), chat_body(quote(R"({"order_id":"ORD-)"), "length"));
  CHECK(cut_json.truncated);
  CHECK(cut_json.has(FindingKind::json_invalid));

  auto empty = run(v, kPlain, chat_body(quote("  ")));
  CHECK(empty.empty);
  CHECK(has_detail(empty, FindingKind::empty, "/content: no content and no tool call", "/content"));
  CHECK_FALSE(empty.ok());
  CHECK(run(v, kPlain, chat_body("null")).empty);
}

TEST_CASE("all choices of n>1 are checked", "[validators]") {
  Validator v;
  std::string body = R"({"object":"chat.completion","choices":[
    {"index":0,"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"},
    {"index":1,"message":{"role":"assistant","content":"nope"},"finish_reason":"stop"}]})";
  auto r = assemble_completion(body);
  REQUIRE(r.choices.size() == 2);
  auto verdict = v.validate(expect(v, R"({"messages":[],"response_format":{"type":"json_object"}})"), r);
  CHECK(has_detail(verdict, FindingKind::json_invalid, "choice 1: /content"));
}

TEST_CASE("content parts are assembled", "[validators]") {
  auto r = assemble_completion(R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":[
    {"type":"text","text":"{\"a\":"},{"type":"text","text":"1}"},{"type":"refusal","refusal":"no"}]},"finish_reason":"stop"}]})");
  REQUIRE(r.choices.size() == 1);
  CHECK(r.choices[0].content == "{\"a\":1}");
  CHECK(r.choices[0].refusal == "no");
}

TEST_CASE("bad and error bodies", "[validators]") {
  Validator v;
  auto x = expect(v, kPlain);
  CHECK(v.validate(x, assemble_completion("<html>502</html>")).has(FindingKind::json_invalid));
  auto err = v.validate(x, assemble_completion(R"({"error":{"message":"boom","type":"server_error"}})"));
  CHECK(has_detail(err, FindingKind::empty, "upstream error: boom"));
}

TEST_CASE("limits give a RequestError before the request goes anywhere", "[validators][limits]") {
  auto error_of = [](Validator& v, const std::string& req) -> std::string {
    auto r = v.expectations(req);
    auto* e = std::get_if<RequestError>(&r);
    return e ? e->param + " | " + e->message : std::string();
  };
  Limits lim;
  lim.max_schema_bytes = 200;
  lim.max_schema_depth = 6;
  lim.max_subschemas = 10;
  lim.max_regex_program_size = 100;
  Validator v(lim);

  std::string big = R"({"type":"object","description":")" + std::string(300, 'x') + "\"}";
  CHECK_THAT(error_of(v, schema_request(big)), Catch::Contains("bytes, more than 200"));

  std::string deep = R"({"type":"object","properties":{"a":{"properties":{"b":{"properties":{"c":{"type":"string"}}}}}}})";
  CHECK_THAT(error_of(v, schema_request(deep)), Catch::Contains("deeper than 6"));

  std::string wide = R"({"anyOf":[)";
  for (int i = 0; i < 11; ++i) wide += std::string(i ? "," : "") + "{}";
  wide += "]}";
  CHECK_THAT(error_of(v, schema_request(wide)), Catch::Contains("more than 10 subschemas"));

  CHECK_THAT(error_of(v, schema_request(R"({"type":"string","pattern":"^(a{1,50}){1,10}$"})")),
             Catch::Contains("too costly (RE2 program size"));
  CHECK_THAT(error_of(v, schema_request(R"({"type":"string","pattern":"(?=x)y"})")), Catch::Contains("not supported by RE2"));
  CHECK_THAT(error_of(v, schema_request(R"({"type":"string","pattern":"(a)\\1"})")), Catch::Contains("/pattern"));

  // Schemas that would recurse forever or fan out exponentially without reading the instance.
  Validator d;
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"#"})")), Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"anyOf":[{"type":"string"},{"$ref":"#"}]})")), Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"})")),
             Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"any#\u0000/x"})")), Catch::Contains("cycle"));  // "any#" to valijson
  // valijson ignores empty pointer tokens: "#/", "#//" and "#/\u0000..." (cut at the NUL) are the root;
  // "#//$defs//a" is "#/$defs/a" (found by fuzz-schema: a stack overflow before the fix).
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"#/"})")), Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"#//"})")), Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"#/\u0000tion/node","definitions":{"node":{"type":"object"}}})")),
             Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$defs":{"a":{"$ref":"#//$defs//a"}},"$ref":"#/$defs/a"})")),
             Catch::Contains("cycle"));
  CHECK(error_of(d, schema_request(R"({"$defs":{"a":{"type":"integer"}},"$ref":"#//$defs//a"})")).empty());
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"urn:ab:)" + std::string(60000, 'a') + R"(#/x"})")),
             Catch::Contains("longer than 2048 bytes"));
  std::string fan = R"({"$defs":{)";
  for (int i = 0; i < 30; ++i)
    fan += "\"a" + std::to_string(i) + "\":{\"anyOf\":[{\"$ref\":\"#/$defs/a" + std::to_string(i + 1) + "\"},{\"$ref\":\"#/$defs/a" +
           std::to_string(i + 1) + "\"}]},";
  fan += R"("a30":{"type":"integer"}},"$ref":"#/$defs/a0"})";
  CHECK_THAT(error_of(d, schema_request(fan)), Catch::Contains("fan-out"));
  CHECK(error_of(d, schema_request(R"({"properties":{"next":{"$ref":"#"}}})")).empty());  // descends: fine
  // Found by fuzz-schema: valijson resolves a relative document ref against the current document, so these
  // point back at the root too (before the fix, a stack overflow: one request could crash the gateway).
  CHECK_THAT(error_of(d, schema_request(R"({"$ref":"H/definitions/node","required":["a"]})")), Catch::Contains("cycle"));
  CHECK_THAT(error_of(d, schema_request(R"({"$defs":{"a":{"$ref":"other.json#/$defs/a"}},"$ref":"#/$defs/a"})")),
             Catch::Contains("cycle"));

  CHECK_THAT(error_of(d, R"({"response_format":{"type":"xml"}})"), Catch::Contains("response_format.type"));
  CHECK_THAT(error_of(d, R"({"response_format":{"type":"json_schema"}})"), Catch::Contains("response_format.json_schema"));
  CHECK_THAT(error_of(d, R"({"tools":[{"type":"function","function":{}}]})"), Catch::Contains("tools[0].function.name"));
  CHECK_THAT(error_of(d, R"({"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}})"),
             Catch::Contains("not in 'tools'"));
  CHECK_THAT(error_of(d, R"({"tools":[{"type":"function","function":{"name":"f","parameters":{"$ref":"http://example.com/s.json"}}}]})"),
             Catch::Contains("tools[0].function.parameters"));
  CHECK_THAT(error_of(d, "{not json"), Catch::Contains("not valid JSON"));
  auto r = d.expectations(R"({"response_format":{"type":"xml"}})");
  CHECK_THAT(to_openai_error_json(std::get<RequestError>(r)), Catch::Contains("\"type\":\"invalid_request_error\""));
}

TEST_CASE("RE2 patterns are linear time on hostile input", "[validators][schema]") {
  Validator v;
  // Catastrophic for a backtracking engine; RE2 answers at once.
  std::string req = schema_request(R"({"type":"string","pattern":"^(a+)+$"})");
  std::string evil = std::string(5000, 'a') + "!";
  auto verdict = run(v, req, chat_body(quote(quote(evil))));
  CHECK(has_detail(verdict, FindingKind::schema_violation, "(pattern)"));
}

TEST_CASE("patternProperties never sees a huge property name", "[validators][schema][limits]") {
  Validator v;
  std::string req = schema_request(R"({"type":"object","patternProperties":{"^x-":{"type":"integer"}}})");
  CHECK(run(v, req, chat_body(quote(R"({"x-a":1,"b":"c"})"))).ok());
  CHECK(has_detail(run(v, req, chat_body(quote(R"({"x-a":"no"})"))), FindingKind::schema_violation, "/x-a: "));
  std::string big = "{\"" + std::string(300, 'k') + "\":1}";
  auto verdict = run(v, req, chat_body(quote(big)));
  CHECK(has_detail(verdict, FindingKind::schema_violation, "longer than 256 bytes"));
}

TEST_CASE("assembled bytes are bounded", "[validators][limits]") {
  Limits lim;
  lim.max_assembled_bytes = 64;
  Validator v(lim);
  auto x = expect(v, R"({"messages":[],"response_format":{"type":"json_object"}})");
  auto r = assemble_completion(chat_body(quote("{\"a\":\"" + std::string(500, 'x') + "\"}")), lim.max_assembled_bytes);
  CHECK(r.too_large);
  CHECK(r.choices[0].content.size() == 64);
  auto verdict = v.validate(x, r);
  CHECK(verdict.has(FindingKind::assembled_too_large));
  CHECK_FALSE(verdict.has(FindingKind::json_invalid));  // not judged on a prefix we cut ourselves
  CHECK_FALSE(verdict.ok());
}

TEST_CASE("verdict JSON", "[validators]") {
  Verdict v;
  v.add(FindingKind::schema_violation, "/a: \"x\"", "/a");
  v.refusal = true;
  CHECK(v.kinds_mask() == (1u << static_cast<unsigned>(FindingKind::schema_violation)));
  CHECK(to_json(v) ==
        R"({"ok":false,"findings":[{"kind":"schema_violation","detail":"/a: \"x\"","path":"/a","failing":true}],"refusal":true,"truncated":false,"empty":false,"tool_calls":0,"tool_calls_valid":0})");
}

// multipleOf is our keyword (validators/multiple_of.hpp), not valijson's, which cast a number (or a string that
// reads as one) to int64_t under an integer divisor: undefined beyond its range (found by the 20 s schema fuzz run
// of CI, tests/fuzz/corpus/schema/multipleof-beyond-int64) and wrong for fractions (6.5 passed multipleOf 3).
TEST_CASE("multipleOf: numbers only, exact at any magnitude, fractions are not multiples of integers", "[validators][schema]") {
  Validator v;
  const std::string req = schema_request(
      R"({"type":"object","properties":{"n":{"type":"number","multipleOf":3},"e":{"multipleOf":2},
          "w":{"multipleOf":0.1},"s":{"type":"string","multipleOf":3}}})");
  auto check = [&](const std::string& content) { return run(v, req, chat_body(quote(content))); };

  for (const char* content : {R"({"n":9})", R"({"n":-9})", R"({"n":0})", R"({"n":9e18})", R"({"n":9.0})",
                              R"({"e":1e300})", R"({"e":-1e300})", R"({"e":9223372036854775806})", R"({"w":0.3})",
                              R"({"w":-2.7})", R"({"w":12})", R"({"w":19.9})", R"({"w":1e300})"}) {
    INFO(content);
    CHECK(check(content).ok());
  }
  CHECK(has_detail(check(R"({"n":10})"), FindingKind::schema_violation, "must be a multiple of 3 (multipleOf)", "/n"));
  // valijson truncated these to 6 and 7: 6.5 passed.
  CHECK(has_detail(check(R"({"n":6.5})"), FindingKind::schema_violation, "must be a multiple of 3", "/n"));
  CHECK(has_detail(check(R"({"e":1e300, "n":7.5})"), FindingKind::schema_violation, "multiple of 3", "/n"));
  CHECK(has_detail(check(R"({"w":0.35})"), FindingKind::schema_violation, "must be a multiple of 0.1", "/w"));
  CHECK(has_detail(check(R"({"w":1000000.0001})"), FindingKind::schema_violation, "multiple of 0.1", "/w"));
  // An integer above INT64_MAX is not a number for valijson: skipped, as by the bounds; `type` catches it.
  CHECK(check(R"({"e":18446744073709551615})").ok());
  CHECK(has_detail(check(R"({"n":18446744073709551615})"), FindingKind::schema_violation, "(type)", "/n"));
  // Strings are not numbers: multipleOf does not apply, whatever they read as (valijson converted them and
  // failed "10").
  for (const char* content : {R"({"s":"10"})", R"({"s":"9"})", R"({"s":"1e309"})", R"({"s":"12345678901234567890"})",
                              R"({"s":"1e309\u0000x"})"}) {
    INFO(content);
    CHECK(check(content).ok());
  }
}
