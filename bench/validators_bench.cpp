// Cost of the inline validators (docs/validation.md has the figures and the command):
//   ninja -C build validators-bench
//   build/bench/validators-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true


#include <benchmark/benchmark.h>

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <simdjson.h>
#include <valijson/validator.hpp>

#include "validators/check_tree.hpp"
#include "validators/json_checks.hpp"
#include "validators/validator.hpp"

namespace sv = slipway::validators;

namespace {

// A realistic structured-output schema: nested objects, an array of 30 items, enums, a $ref used twice,
// a pattern, a format, bounds, additionalProperties false.
const char* kSchema = R"({
 "type":"object","additionalProperties":false,
 "required":["order_id","status","customer","items","totals"],
 "properties":{
  "order_id":{"type":"string","pattern":"^ORD-[0-9]{8}$"},
  "status":{"enum":["pending","paid","shipped","delivered","cancelled"]},
  "placed_at":{"type":"string","format":"date-time"},
  "customer":{"type":"object","additionalProperties":false,"required":["name","email","billing","shipping"],
    "properties":{"name":{"type":"string","minLength":1,"maxLength":100},"email":{"type":"string","format":"email"},
      "billing":{"$ref":"#/$defs/address"},"shipping":{"$ref":"#/$defs/address"}}},
  "items":{"type":"array","minItems":1,"maxItems":100,"items":{"type":"object","additionalProperties":false,
    "required":["sku","name","qty","unit_price","category"],
    "properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"},"name":{"type":"string","maxLength":80},
      "qty":{"type":"integer","minimum":1,"maximum":1000},"unit_price":{"type":"number","minimum":0},
      "category":{"enum":["book","music","garden","kitchen","toys","tools"]},
      "tags":{"type":"array","items":{"type":"string"},"maxItems":5}}}},
  "totals":{"type":"object","required":["subtotal","tax","total"],"additionalProperties":false,
    "properties":{"subtotal":{"type":"number","minimum":0},"tax":{"type":"number","minimum":0},"total":{"type":"number","minimum":0}}}
 },
 "$defs":{"address":{"type":"object","additionalProperties":false,"required":["street","city","country"],
   "properties":{"street":{"type":"string"},"city":{"type":"string"},"zip":{"type":"string"},
     "country":{"type":"string","enum":["FR","DE","ES","IT","PT","GB","US"]}}}}
})";

std::string make_instance(size_t items) {
  static const char* cats[] = {"book", "music", "garden", "kitchen", "toys", "tools"};
  std::string s = R"({"order_id":"ORD-20240501","status":"paid","placed_at":"2024-05-01T10:22:31Z",)"
                  R"("customer":{"name":"Ada Lovelace","email":"ada@example.com",)"
                  R"("billing":{"street":"12 Analytical Row","city":"London","zip":"NW1","country":"GB"},)"
                  R"("shipping":{"street":"3 Engine Lane","city":"Paris","zip":"75001","country":"FR"}},"items":[)";
  for (size_t i = 0; i < items; ++i) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  R"(%s{"sku":"ABC-%04zu","name":"Item number %zu","qty":%zu,"unit_price":%zu.5,"category":"%s","tags":["new","sale"]})",
                  i ? "," : "", i, i, i % 9 + 1, i + 3, cats[i % 6]);
    s += buf;
  }
  s += R"(],"totals":{"subtotal":1234.5,"tax":246.9,"total":1481.4}})";
  return s;
}

std::string chat_body(const std::string& content) {
  std::string s = R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":)";
  sv::append_json_string(s, content);
  s += R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":900,"total_tokens":1000}})";
  return s;
}

std::string schema_request() {
  return std::string(R"({"model":"m","messages":[{"role":"user","content":"order"}],"response_format":{"type":"json_schema","json_schema":{"name":"order","schema":)") +
         kSchema + "}}}";
}

const std::string& instance() {
  static const std::string s = make_instance(34);  // ~4 KiB
  return s;
}

void BM_StructuredOutput_EndToEnd(benchmark::State& st) {
  sv::Validator v;
  auto x = std::get<sv::Expectations>(v.expectations(schema_request()));
  auto r = sv::assemble_completion(chat_body(instance()));
  for (auto _ : st) {
    auto verdict = v.validate(x, r);
    if (!verdict.ok()) st.SkipWithError("unexpected failure");
    benchmark::DoNotOptimize(verdict);
  }
  st.SetLabel(std::to_string(instance().size()) + " B instance");
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * instance().size()));
}
BENCHMARK(BM_StructuredOutput_EndToEnd);

void BM_StructuredOutput_ParseOnly(benchmark::State& st) {
  for (auto _ : st) {
    boost::json::value doc;
    std::string err;
    benchmark::DoNotOptimize(sv::parse_json_text(instance(), doc, err));
  }
}
BENCHMARK(BM_StructuredOutput_ParseOnly);

void BM_StructuredOutput_ValijsonOnly(benchmark::State& st) {
  sv::Limits lim;
  auto h = std::get<sv::SchemaHandle>(sv::compile_schema(boost::json::parse(kSchema), lim));
  boost::json::value doc = boost::json::parse(instance());
  valijson::Validator val(valijson::Validator::kStrongTypes);
  for (auto _ : st) {
    std::vector<sv::SchemaError> errors;
    if (!sv::validate_against(val, *h, doc, errors)) st.SkipWithError("unexpected failure");
  }
}
BENCHMARK(BM_StructuredOutput_ValijsonOnly);

// The fast path's two halves: simdjson parse of the content, then the compiled check tree over the DOM.
void BM_StructuredOutput_SimdjsonParse(benchmark::State& st) {
  simdjson::dom::parser parser;
  for (auto _ : st) {
    auto r = parser.parse(instance().data(), instance().size(), true);
    benchmark::DoNotOptimize(r.error());
  }
}
BENCHMARK(BM_StructuredOutput_SimdjsonParse);

void BM_StructuredOutput_CheckTreeOnly(benchmark::State& st) {
  sv::Limits lim;
  auto h = std::get<sv::SchemaHandle>(sv::compile_schema(boost::json::parse(kSchema), lim));
  if (!h->tree) {
    st.SkipWithError(("schema not compiled to a tree: " + h->tree_unsupported).c_str());
    return;
  }
  simdjson::dom::parser parser;
  const std::string text = instance();
  simdjson::dom::element root = parser.parse(text).value();
  for (auto _ : st) {
    if (h->tree->check(root, sv::strings_may_hold_nul(text)) != sv::FastVerdict::valid) st.SkipWithError("unexpected verdict");
  }
  st.SetLabel(std::to_string(h->tree->node_count()) + " nodes");
}
BENCHMARK(BM_StructuredOutput_CheckTreeOnly);

// Objects of more than 8 properties (the property table is hashed from 9 on): 40 line items of 12 members,
// as bench/lib/body-schema.json asks of vllm-sim (10 members) but wider.
void BM_CheckTree_WideObjects(benchmark::State& st) {
  static const char* names[] = {"id", "sku", "name", "description", "category", "price",
                                "quantity", "in_stock", "tags", "updated", "weight", "color"};
  std::string schema = R"({"type":"array","items":{"type":"object","additionalProperties":false,"properties":{)";
  std::string item = "{";
  for (size_t i = 0; i < std::size(names); ++i) {
    schema += std::string(i ? "," : "") + "\"" + names[i] + "\":{\"type\":\"string\",\"maxLength\":40}";
    item += std::string(i ? "," : "") + "\"" + names[i] + "\":\"value of " + names[i] + "\"";
  }
  schema += "}}}";
  item += "}";
  std::string text = "[";
  for (int i = 0; i < 40; ++i) text += (i ? "," : "") + item;
  text += "]";
  sv::Limits lim;
  auto h = std::get<sv::SchemaHandle>(sv::compile_schema(boost::json::parse(schema), lim));
  if (!h->tree) {
    st.SkipWithError("schema not compiled to a tree");
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(text).value();
  for (auto _ : st) {
    if (h->tree->check(root, false) != sv::FastVerdict::valid) st.SkipWithError("unexpected verdict");
  }
}
BENCHMARK(BM_CheckTree_WideObjects);

void BM_StructuredOutput_Violation(benchmark::State& st) {
  sv::Validator v;
  auto x = std::get<sv::Expectations>(v.expectations(schema_request()));
  std::string bad = instance();
  bad.replace(bad.find("\"qty\":5"), 7, "\"qty\":0");  // one violation deep in the array: full error pass
  auto r = sv::assemble_completion(chat_body(bad));
  for (auto _ : st) {
    auto verdict = v.validate(x, r);
    if (verdict.ok()) st.SkipWithError("violation not found");
    benchmark::DoNotOptimize(verdict);
  }
}
BENCHMARK(BM_StructuredOutput_Violation);

void BM_Expectations_CacheHit(benchmark::State& st) {
  sv::Validator v;
  std::string req = schema_request();
  (void)v.expectations(req);
  for (auto _ : st) benchmark::DoNotOptimize(v.expectations(req));
}
BENCHMARK(BM_Expectations_CacheHit);

// The same request without the Validator's expectations cache (what every request cost before it): the
// request's members parsed by Boost.JSON, the schema re-serialised and hashed, a schema cache hit.
void BM_Expectations_SchemaCacheOnly(benchmark::State& st) {
  sv::Limits limits;
  sv::SchemaCache cache(16);
  std::string req = schema_request();
  (void)sv::parse_expectations(req, cache, limits);
  for (auto _ : st) benchmark::DoNotOptimize(sv::parse_expectations(req, cache, limits));
}
BENCHMARK(BM_Expectations_SchemaCacheOnly);

// The request body is parsed twice: simdjson in the gateway's admission, Boost.JSON in expectations(). These
// two measure what the second parse costs against the first, for the schema request above.
void BM_Request_BoostJsonParse(benchmark::State& st) {
  std::string req = schema_request();
  for (auto _ : st) benchmark::DoNotOptimize(boost::json::parse(req));
  st.SetLabel(std::to_string(req.size()) + " B request");
}
BENCHMARK(BM_Request_BoostJsonParse);

void BM_Request_SimdjsonParse(benchmark::State& st) {
  std::string req = schema_request();
  simdjson::dom::parser parser;
  for (auto _ : st) benchmark::DoNotOptimize(parser.parse(req).error());
}
BENCHMARK(BM_Request_SimdjsonParse);

// The same request with a long conversation (64 KiB of messages): the second parse grows with the prompt.
std::string long_prompt_request() {
  std::string req = schema_request();
  std::string turns;
  while (turns.size() < 64 * 1024)
    turns += R"({"role":"user","content":"Summarise the order history of the customer and list anomalies."},)"
             R"({"role":"assistant","content":"The customer placed twelve orders; two were cancelled and one shipped late."},)";
  req.insert(req.find("[{\"role\"") + 1, turns);
  return req;
}

void BM_Request_BoostJsonParse_64KiBPrompt(benchmark::State& st) {
  std::string req = long_prompt_request();
  for (auto _ : st) benchmark::DoNotOptimize(boost::json::parse(req));
  st.SetLabel(std::to_string(req.size()) + " B request");
}
BENCHMARK(BM_Request_BoostJsonParse_64KiBPrompt);

void BM_Request_SimdjsonParse_64KiBPrompt(benchmark::State& st) {
  std::string req = long_prompt_request();
  simdjson::dom::parser parser;
  for (auto _ : st) benchmark::DoNotOptimize(parser.parse(req).error());
}
BENCHMARK(BM_Request_SimdjsonParse_64KiBPrompt);

void BM_Expectations_CacheHit_64KiBPrompt(benchmark::State& st) {
  sv::Validator v;
  std::string req = long_prompt_request();
  (void)v.expectations(req);
  for (auto _ : st) benchmark::DoNotOptimize(v.expectations(req));
}
BENCHMARK(BM_Expectations_CacheHit_64KiBPrompt);

void BM_Request_SchemaCacheKey(benchmark::State& st) {
  // The rest of a cache hit: re-serialise the schema and hash it.
  boost::json::value schema = boost::json::parse(kSchema);
  for (auto _ : st) {
    std::string canonical = boost::json::serialize(schema);
    benchmark::DoNotOptimize(std::hash<std::string_view>{}(canonical));
  }
}
BENCHMARK(BM_Request_SchemaCacheKey);

void BM_Expectations_CompileMiss(benchmark::State& st) {
  sv::Limits lim;
  lim.schema_cache_entries = 1;
  sv::Validator v(lim);
  std::string a = schema_request(), b = schema_request();
  b.replace(b.find("ORD-"), 4, "ORX-");
  bool flip = false;
  for (auto _ : st) benchmark::DoNotOptimize(v.expectations((flip = !flip) ? a : b));
}
BENCHMARK(BM_Expectations_CompileMiss);

const char* kToolReq = R"({"model":"m","messages":[],"tools":[
 {"type":"function","function":{"name":"search_flights","parameters":{"type":"object","additionalProperties":false,
  "required":["origin","destination","date","passengers"],
  "properties":{"origin":{"type":"string","pattern":"^[A-Z]{3}$"},"destination":{"type":"string","pattern":"^[A-Z]{3}$"},
   "date":{"type":"string","format":"date"},"return_date":{"type":"string","format":"date"},
   "passengers":{"type":"array","minItems":1,"maxItems":9,"items":{"type":"object","required":["type"],
     "properties":{"type":{"enum":["adult","child","infant"]},"age":{"type":"integer","minimum":0,"maximum":120}}}},
   "cabin":{"enum":["economy","premium","business","first"]},"max_stops":{"type":"integer","minimum":0,"maximum":3}}}}},
 {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]})";

void BM_ToolCall_Validate(benchmark::State& st) {
  sv::Validator v;
  auto x = std::get<sv::Expectations>(v.expectations(kToolReq));
  std::string args = R"({"origin":"CDG","destination":"LIS","date":"2024-06-01","return_date":"2024-06-09",)"
                     R"("passengers":[{"type":"adult","age":41},{"type":"adult","age":39},{"type":"child","age":7}],)"
                     R"("cabin":"economy","max_stops":1})";
  std::string body = R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"search_flights","arguments":)";
  sv::append_json_string(body, args);
  body += R"(}}]},"finish_reason":"tool_calls"}]})";
  auto r = sv::assemble_completion(body);
  for (auto _ : st) {
    auto verdict = v.validate(x, r);
    if (!verdict.ok()) st.SkipWithError("unexpected failure");
    benchmark::DoNotOptimize(verdict);
  }
}
BENCHMARK(BM_ToolCall_Validate);

std::string answer_2k(bool refusal) {
  std::string s = refusal ? "I'm sorry, but I can't help with that request. " : "Sure, here is an overview of the topic. ";
  while (s.size() < 2048)
    s += "Quantized checkpoints trade a little accuracy for memory and throughput, and the tails move first. ";
  return s.substr(0, 2048);
}

void BM_Refusal_2KiB(benchmark::State& st) {
  sv::RefusalClassifier clf;
  std::string text = answer_2k(st.range(0) != 0);
  for (auto _ : st) benchmark::DoNotOptimize(clf.classify(text));
}
BENCHMARK(BM_Refusal_2KiB)->Arg(0)->Arg(1);

void BM_PlainText_Validate_2KiB(benchmark::State& st) {
  sv::Validator v;
  auto x = std::get<sv::Expectations>(v.expectations(R"({"model":"m","messages":[]})"));
  auto r = sv::assemble_completion(chat_body(answer_2k(false)));
  for (auto _ : st) benchmark::DoNotOptimize(v.validate(x, r));
}
BENCHMARK(BM_PlainText_Validate_2KiB);

void BM_AssembleCompletion_4KiB(benchmark::State& st) {
  std::string body = chat_body(instance());
  for (auto _ : st) benchmark::DoNotOptimize(sv::assemble_completion(body));
}
BENCHMARK(BM_AssembleCompletion_4KiB);

void BM_StreamAssemble_4KiB(benchmark::State& st) {
  // ~4 KiB of content in 8-byte deltas, as a stream of chunk events.
  std::vector<std::string> events;
  const std::string& c = instance();
  for (size_t i = 0; i < c.size(); i += 8) {
    std::string e = R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":)";
    sv::append_json_string(e, c.substr(i, 8));
    e += R"(},"finish_reason":null}]})";
    events.push_back(std::move(e));
  }
  for (auto _ : st) {
    sv::StreamAssembler a;
    for (const auto& e : events) a.on_event_data(e);
    benchmark::DoNotOptimize(a.finish());
  }
  st.SetLabel(std::to_string(events.size()) + " events");
}
BENCHMARK(BM_StreamAssemble_4KiB);

}  // namespace

BENCHMARK_MAIN();
