// The compiled check tree (the fast path of schema validation) against valijson (the reference):
//  - differential on the whole JSON-Schema-Test-Suite (drafts 4, 6, 7): for every case whose schema the tree
//    compiles, a `valid`/`invalid` answer of the tree equals valijson's; `undecided` is allowed (valijson
//    decides) and counted;
//  - randomized differential: seeded mutations of instances around the benchmark's schemas;
//  - simdjson (the fast path's parser) accepts no document that Boost.JSON (the reference path's) rejects;
//  - the verdicts of Validator::validate are the same with and without a tree.
// SLIPWAY_CHECK_TREE_VERBOSE=1 prints the suite cases left undecided and the schemas not compiled.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <simdjson.h>
#include <valijson/validator.hpp>

#include "validators/check_tree.hpp"
#include "validators/json_checks.hpp"
#include "validators/json_util.hpp"
#include "validators/schema_cache.hpp"
#include "validators/validator.hpp"

using namespace slipway::validators;
namespace fs = std::filesystem;
namespace bj = boost::json;

namespace {

const fs::path kSuite = "/usr/share/json-schema-test-suite";

bool verbose() { return std::getenv("SLIPWAY_CHECK_TREE_VERBOSE") != nullptr; }

bool read_json(const fs::path& p, bj::value& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  bj::error_code ec;
  out = bj::parse(ss.str(), ec);
  return !ec;
}

const char* name(FastVerdict v) {
  switch (v) {
    case FastVerdict::valid: return "valid";
    case FastVerdict::invalid: return "invalid";
    default: return "undecided";
  }
}

// One instance text through both validators.
struct Pair {
  FastVerdict fast = FastVerdict::undecided;
  bool reference = false;
  bool parsed = false;  // simdjson and Boost.JSON both parsed it
};

class Differ {
 public:
  Differ() : reference_(valijson::Validator::kStrongTypes) {
    REQUIRE(parser_.allocate(1 << 16, kFastPathMaxDepth) == simdjson::SUCCESS);
  }

  Pair run(const CompiledSchema& schema, std::string_view text) {
    Pair p;
    bj::value doc;
    std::string err;
    auto r = parser_.parse(text.data(), text.size(), true);
    if (r.error() || !parse_json_text(text, doc, err)) return p;
    p.parsed = true;
    p.fast = schema.tree->check(r.value_unsafe(), strings_may_hold_nul(text));
    std::vector<SchemaError> errors;
    p.reference = validate_against(reference_, schema, doc, errors);
    return p;
  }

 private:
  simdjson::dom::parser parser_;
  valijson::Validator reference_;
};

struct Tally {
  size_t cases = 0, compared = 0, agreed = 0, undecided = 0, not_compiled = 0, not_parsed = 0;
  std::vector<std::string> disagreements, undecided_cases;
  std::map<std::string, size_t> not_compiled_why;
};

void tally(Tally& t, const Pair& p, const std::string& what) {
  if (!p.parsed) {
    ++t.not_parsed;
    return;
  }
  if (p.fast == FastVerdict::undecided) {
    ++t.undecided;
    t.undecided_cases.push_back(what);
    return;
  }
  ++t.compared;
  if ((p.fast == FastVerdict::valid) == p.reference) {
    ++t.agreed;
  } else {
    t.disagreements.push_back(what + ": tree says " + name(p.fast) + ", valijson says " +
                              (p.reference ? "valid" : "invalid"));
  }
}

Tally run_suite_draft(const std::string& draft_dir, Draft draft) {
  Tally t;
  std::map<std::string, bj::value> remotes;
  CompileOptions opts;
  opts.draft = draft;
  opts.fetch_remote = [&](const std::string& uri) -> const bj::value* {
    const std::string prefix = "http://localhost:1234/";
    if (uri.rfind(prefix, 0) != 0) return nullptr;
    auto it = remotes.find(uri);
    if (it == remotes.end()) {
      bj::value v;
      if (!read_json(kSuite / "remotes" / uri.substr(prefix.size()), v)) return nullptr;
      it = remotes.emplace(uri, std::move(v)).first;
    }
    return &it->second;
  };
  Limits limits;
  limits.max_schema_depth = 256;
  limits.max_subschemas = 100000;
  limits.max_schema_bytes = 1 << 20;
  limits.max_regex_program_size = 100000;
  Differ differ;

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kSuite / "tests" / draft_dir))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    bj::value groups;
    if (!read_json(f, groups) || !groups.is_array()) continue;
    for (const auto& g : groups.get_array()) {
      const auto& go = g.get_object();
      std::string gdesc = std::string(go.at("description").as_string());
      auto compiled = compile_schema(go.at("schema"), limits, opts);
      auto* h = std::get_if<SchemaHandle>(&compiled);
      for (const auto& test : go.at("tests").get_array()) {
        ++t.cases;
        if (!h) continue;  // valijson does not compile it either: the conformance test counts those
        if (!(*h)->tree) {
          ++t.not_compiled;
          ++t.not_compiled_why[(*h)->tree_unsupported];
          continue;
        }
        const auto& to = test.get_object();
        std::string what = f.filename().string() + " | " + gdesc + " | " + std::string(to.at("description").as_string());
        tally(t, differ.run(**h, bj::serialize(to.at("data"))), what);
      }
    }
  }
  return t;
}

void report(const std::string& label, const Tally& t) {
  std::printf("check tree %s: %zu cases, %zu compared (%zu agree), %zu undecided, %zu schema not compiled, "
              "%zu not parsed\n",
              label.c_str(), t.cases, t.compared, t.agreed, t.undecided, t.not_compiled, t.not_parsed);
  for (const auto& d : t.disagreements) std::printf("  DISAGREE %s\n", d.c_str());
  if (verbose()) {
    for (const auto& u : t.undecided_cases) std::printf("  undecided: %s\n", u.c_str());
    for (const auto& [why, n] : t.not_compiled_why) std::printf("  not compiled (%zu cases): %s\n", n, why.c_str());
  }
}

}  // namespace

TEST_CASE("check tree agrees with valijson on the JSON-Schema-Test-Suite", "[validators][check_tree][conformance]") {
  if (!fs::exists(kSuite / "tests" / "draft7")) {
    WARN("json-schema-test-suite not installed");
    return;
  }
  for (auto [dir, draft] : {std::pair{"draft4", Draft::draft4}, std::pair{"draft6", Draft::draft6},
                            std::pair{"draft7", Draft::draft7}}) {
    Tally t = run_suite_draft(dir, draft);
    report(dir, t);
    INFO(dir);
    CHECK(t.disagreements.empty());
    // The tree must carry the suite, not dodge it: most cases are decided by it. (Measured: see
    // docs/validation.md; the floors leave a little room.)
    CHECK(t.compared >= t.cases * 8 / 10);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Randomized differential around realistic schemas.

namespace {

const char* kOrderSchema = R"({
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
      "tags":{"type":"array","items":{"type":"string"},"maxItems":5,"uniqueItems":true}}}},
  "totals":{"type":"object","required":["subtotal","tax","total"],"additionalProperties":false,
    "properties":{"subtotal":{"type":"number","minimum":0},"tax":{"type":"number","minimum":0},"total":{"type":"number","minimum":0}}}
 },
 "$defs":{"address":{"type":"object","additionalProperties":false,"required":["street","city","country"],
   "properties":{"street":{"type":"string"},"city":{"type":"string"},"zip":{"type":"string"},
     "country":{"type":"string","enum":["FR","DE","ES","IT","PT","GB","US"]}}}}
})";

const char* kOrderInstance = R"({"order_id":"ORD-20240501","status":"paid","placed_at":"2024-05-01T10:22:31Z",
 "customer":{"name":"Ada Lovelace","email":"ada@example.com",
  "billing":{"street":"12 Analytical Row","city":"London","zip":"NW1","country":"GB"},
  "shipping":{"street":"3 Engine Lane","city":"Paris","zip":"75001","country":"FR"}},
 "items":[{"sku":"ABC-0001","name":"Item 1","qty":2,"unit_price":3.5,"category":"book","tags":["new","sale"]},
          {"sku":"XYZ-0420","name":"Item 2","qty":1,"unit_price":0,"category":"toys"}],
 "totals":{"subtotal":7,"tax":1.4,"total":8.4}})";

const char* kFlightSchema = R"({"type":"object","additionalProperties":false,
  "required":["origin","destination","date","passengers"],
  "properties":{"origin":{"type":"string","pattern":"^[A-Z]{3}$"},"destination":{"type":"string","pattern":"^[A-Z]{3}$"},
   "date":{"type":"string","format":"date"},"return_date":{"type":"string","format":"date"},
   "passengers":{"type":"array","minItems":1,"maxItems":9,"items":{"type":"object","required":["type"],
     "properties":{"type":{"enum":["adult","child","infant"]},"age":{"type":"integer","minimum":0,"maximum":120}}}},
   "cabin":{"enum":["economy","premium","business","first"]},"max_stops":{"type":"integer","minimum":0,"maximum":3,"multipleOf":1}}})";

const char* kFlightInstance = R"({"origin":"CDG","destination":"LIS","date":"2024-06-01","return_date":"2024-06-09",
  "passengers":[{"type":"adult","age":41},{"type":"child","age":7}],"cabin":"economy","max_stops":1})";

// Recursive $ref, combinators, const, not, if/then/else, contains, dependencies, exclusive bounds.
const char* kTreeSchema = R"({"$ref":"#/definitions/node","definitions":{"node":{"type":"object",
  "required":["kind","value"],
  "properties":{"kind":{"enum":["leaf","branch",null,1,1.5,{"a":[1,"x"]}]},"value":{"anyOf":[{"type":"integer","exclusiveMinimum":-5},
    {"type":"string","minLength":2,"maxLength":6},{"const":{"k":[true,null]}}]},
   "weight":{"type":"number","multipleOf":0.5,"exclusiveMaximum":100},
   "label":{"oneOf":[{"type":"string","format":"uuid"},{"type":"string","pattern":"^[a-z]+$"}]},
   "mark":{"not":{"type":"boolean"}},
   "children":{"type":"array","items":{"$ref":"#/definitions/node"},"contains":{"required":["kind"]}},
   "pair":{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false}},
  "dependencies":{"weight":["label"],"mark":{"required":["children"]}},
  "if":{"properties":{"kind":{"const":"leaf"}}},"then":{"not":{"required":["children"]}},"else":{"minProperties":2,"maxProperties":9}}}})";

const char* kTreeInstance = R"({"kind":"branch","value":7,"weight":2.5,"label":"abc","children":[
  {"kind":"leaf","value":"xy"},{"kind":"branch","value":{"k":[true,null]},"children":[{"kind":"leaf","value":-4}],"pair":["a",1]}]})";

// A pool of replacement values of every kind, with boundary numbers and awkward strings.
std::vector<bj::value> replacement_pool() {
  std::vector<bj::value> v;
  for (const char* t : {"null", "true", "false", "0", "1", "-1", "2", "3", "4", "-5", "-4", "7", "100", "1000", "1001",
                        "99.5", "100.0", "1.5", "2.5", "0.1", "-0.0", "1e2", "9007199254740993", "\"\"", "\"a\"", "\"xy\"",
                        "\"abcdefg\"", "\"ORD-20240501\"", "\"ORD-2024050\"", "\"ABC-0001\"", "\"abc-0001\"", "\"CDG\"",
                        "\"2024-06-01\"", "\"2024-02-30\"", "\"2024-05-01T10:22:31Z\"", "\"2024-05-01 10:22\"",
                        "\"ada@example.com\"", "\"ada@\"", "\"123e4567-e89b-12d3-a456-426614174000\"", "\"paid\"",
                        "\"book\"", "\"leaf\"", "\"branch\"", "\"adult\"", "\"GB\"", "\"economy\"", "\"a\\u0000b\"",
                        "\"caf\\u00e9\"", "[]", "[1]", "[\"a\",1]", "[\"a\",1,2]", "[\"new\",\"new\"]", "{}",
                        "{\"k\":[true,null]}", "{\"a\":[1,\"x\"]}", "{\"kind\":\"leaf\",\"value\":3}"}) {
    v.push_back(bj::parse(t));
  }
  return v;
}

// Every JSON pointer to a value inside `v` (for picking a mutation site).
void pointers(const bj::value& v, const std::string& at, std::vector<std::string>& out) {
  out.push_back(at);
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      std::string p = at;
      detail::append_pointer_token(p, kv.key());
      pointers(kv.value(), p, out);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.get_array().size(); ++i) pointers(v.get_array()[i], at + "/" + std::to_string(i), out);
  }
}

}  // namespace

namespace {

bj::value* at_pointer(bj::value& root, const std::string& ptr) {
  bj::error_code ec;
  return ptr.empty() ? &root : root.find_pointer(ptr, ec);
}

// Serializes `v`, sometimes writing an object member twice (Boost.JSON keeps the last, simdjson both).
void write(const bj::value& v, std::mt19937& rng, const std::vector<bj::value>& pool, std::string& out) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ',';
      first = false;
      out += bj::serialize(bj::value(kv.key()));
      out += ':';
      write(kv.value(), rng, pool, out);
    }
    if (!v.get_object().empty() && rng() % 40 == 0) {
      auto it = v.get_object().begin();
      std::advance(it, rng() % v.get_object().size());
      out += ',' + bj::serialize(bj::value(it->key())) + ':';
      write(rng() % 2 ? it->value() : pool[rng() % pool.size()], rng, pool, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out += ',';
      first = false;
      write(e, rng, pool, out);
    }
    out += ']';
  } else {
    out += bj::serialize(v);
  }
}

std::string mutate(const bj::value& base, std::mt19937& rng, const std::vector<bj::value>& pool,
                   const std::vector<std::string>& names) {
  bj::value v = base;
  int n = 1 + static_cast<int>(rng() % 3);
  for (int m = 0; m < n; ++m) {
    std::vector<std::string> ptrs;
    pointers(v, "", ptrs);
    bj::value* target = at_pointer(v, ptrs[rng() % ptrs.size()]);
    if (!target) continue;
    switch (rng() % 6) {
      case 0:
      case 1:
        if (target != &v) *target = pool[rng() % pool.size()];
        break;
      case 2:  // drop a member
        if (target->is_object() && !target->get_object().empty()) {
          auto it = target->get_object().begin();
          std::advance(it, rng() % target->get_object().size());
          target->get_object().erase(it);
        }
        break;
      case 3:  // add a member, known name or not
        if (target->is_object()) target->get_object()[names[rng() % names.size()]] = pool[rng() % pool.size()];
        break;
      case 4:  // grow or shrink an array
        if (target->is_array()) {
          auto& a = target->get_array();
          if (!a.empty() && rng() % 2) a.erase(a.begin() + static_cast<std::ptrdiff_t>(rng() % a.size()));
          else if (!a.empty()) a.push_back(a[rng() % a.size()]);
          else a.push_back(pool[rng() % pool.size()]);
        }
        break;
      case 5:  // a big unsigned integer, which the two parsers type differently from int64
        if (target != &v && rng() % 4 == 0) *target = bj::parse("9223372036854775808");
        break;
    }
  }
  std::string out;
  write(v, rng, pool, out);
  return out;
}

Tally randomized(const char* schema_text, const char* instance_text, uint32_t seed, size_t count,
                 size_t& valid_seen) {
  Tally t;
  auto compiled = compile_schema(bj::parse(schema_text), Limits{});
  auto* h = std::get_if<SchemaHandle>(&compiled);
  REQUIRE(h);
  REQUIRE((*h)->tree);
  bj::value base = bj::parse(instance_text);
  std::vector<bj::value> pool = replacement_pool();
  std::vector<std::string> names = {"extra", "zip", "tags", "placed_at", "return_date", "cabin", "age", "label",
                                    "weight", "mark", "children", "pair", "kind", "value", "qty", "sku"};
  std::mt19937 rng(seed);
  Differ differ;
  Pair original = differ.run(**h, instance_text);
  REQUIRE(original.fast == FastVerdict::valid);
  REQUIRE(original.reference);
  for (size_t i = 0; i < count; ++i) {
    std::string text = mutate(base, rng, pool, names);
    ++t.cases;
    Pair p = differ.run(**h, text);
    if (p.parsed && p.reference) ++valid_seen;
    tally(t, p, text);
  }
  return t;
}

}  // namespace

TEST_CASE("check tree agrees with valijson on randomized instances", "[validators][check_tree]") {
  struct Case {
    const char* label;
    const char* schema;
    const char* instance;
    uint32_t seed;
  };
  for (const Case& c : {Case{"order (bench schema)", kOrderSchema, kOrderInstance, 20240501},
                        Case{"flight (tool parameters)", kFlightSchema, kFlightInstance, 7},
                        Case{"recursive tree", kTreeSchema, kTreeInstance, 99}}) {
    size_t valid_seen = 0;
    Tally t = randomized(c.schema, c.instance, c.seed, 1500, valid_seen);
    report(std::string("random ") + c.label, t);
    std::printf("  (%zu of the mutated instances are valid for valijson)\n", valid_seen);
    INFO(c.label);
    CHECK(t.disagreements.empty());
    CHECK(t.compared >= t.cases * 8 / 10);  // undecided stays the exception (duplicate keys, uint64)
    CHECK(valid_seen >= 50);                // the mutations reach both sides of the schema
  }
}

TEST_CASE("simdjson accepts no document Boost.JSON rejects", "[validators][check_tree]") {
  std::vector<std::string> docs = {
      "{}", "[]", "1", "-0", "1e400", "-1e400", "1e-400", "18446744073709551616", "9223372036854775808",
      "-9223372036854775809", "01", "1.", ".5", "+1", "NaN", "Infinity", "\"\\ud800\"", "\"\\udc00\"",
      "\"\\ud800\\udc00\"", "\"\\u0000\"", "\"\xff\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"a\tb\"", "\"\x01\"",
      "[1,]", "{\"a\":1,}", "{} x", "{}}", "1 2", "\xef\xbb\xbf{}", " \t\r\n{} \t\r\n", "\f{}", "{\"a\" : 1 }",
      "[1]\x00", "tru", "nul", "[1e5, 1E+5, 1e-5, -0.0e0]", "\"\\/\"", "\"\\x\"", "{\"a\":1,\"a\":2}",
  };
  for (int depth : {100, 127, 128, 129, 255, 256, 257, 300}) docs.push_back(std::string(depth, '[') + std::string(depth, ']'));
  simdjson::dom::parser parser;
  REQUIRE(parser.allocate(1 << 16, kFastPathMaxDepth) == simdjson::SUCCESS);
  size_t accepted = 0;
  for (const auto& d : docs) {
    auto r = parser.parse(d.data(), d.size(), true);
    if (r.error()) continue;
    ++accepted;
    bj::value v;
    std::string err;
    INFO("document: " << d.substr(0, 40));
    CHECK(parse_json_text(d, v, err));
  }
  CHECK(accepted >= 10);
}

TEST_CASE("Validator verdicts are the same with and without the check tree", "[validators][check_tree]") {
  // The same schema with a keyword the tree does not compile (propertyNames: {} accepts every name) runs on
  // valijson alone: every verdict, finding and detail must match the fast-path Validator's.
  std::string with_tree = kOrderSchema;
  std::string without_tree = with_tree;
  without_tree.insert(without_tree.find('{') + 1, "\"propertyNames\":{},");
  auto request = [](const std::string& schema) {
    return R"({"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"o","schema":)" +
           schema + "}}}";
  };
  Validator v;
  auto fast = std::get<Expectations>(v.expectations(request(with_tree)));
  auto slow = std::get<Expectations>(v.expectations(request(without_tree)));
  REQUIRE(fast.schema->tree);
  REQUIRE_FALSE(slow.schema->tree);
  REQUIRE(slow.schema->tree_unsupported == "propertyNames");

  std::mt19937 rng(4242);
  std::vector<bj::value> pool = replacement_pool();
  std::vector<std::string> names = {"extra", "zip", "tags", "placed_at", "qty", "sku"};
  bj::value base = bj::parse(kOrderInstance);
  size_t ok = 0;
  for (int i = 0; i < 400; ++i) {
    std::string content = i == 0 ? std::string(kOrderInstance) : mutate(base, rng, pool, names);
    std::string body = R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":)";
    append_json_string(body, content);
    body += R"(},"finish_reason":"stop"}]})";
    AssembledResponse r = assemble_completion(body);
    Verdict a = v.validate(fast, r), b = v.validate(slow, r);
    INFO(content);
    REQUIRE(to_json(a) == to_json(b));
    ok += a.ok();
  }
  CHECK(ok >= 20);
}

TEST_CASE("schemas the tree does not compile say why", "[validators][check_tree]") {
  auto why = [](const char* schema) {
    auto c = compile_schema(bj::parse(schema), Limits{});
    auto* h = std::get_if<SchemaHandle>(&c);
    REQUIRE(h);
    return (*h)->tree ? std::string() : (*h)->tree_unsupported;
  };
  CHECK(why(R"({"type":"object","properties":{"a":{"type":"string"}}})").empty());
  CHECK(why(R"({"patternProperties":{"^x":{"type":"string"}}})").find("patternProperties") != std::string::npos);
  CHECK(why(R"({"propertyNames":{"maxLength":3}})") == "propertyNames");
  CHECK(why(R"({"items":{"$ref":"#"}})").empty());  // recursion is fine
}

TEST_CASE("check tree: answers on hand-picked instances", "[validators][check_tree]") {
  auto verdict = [](const char* schema, const char* instance) {
    auto c = compile_schema(bj::parse(schema), Limits{});
    auto& h = std::get<SchemaHandle>(c);
    REQUIRE(h->tree);
    simdjson::dom::parser p;
    auto r = p.parse(std::string(instance));
    REQUIRE(!r.error());
    return h->tree->check(r.value_unsafe(), strings_may_hold_nul(instance));
  };
  // valijson's notion of an integer is a Boost.JSON int64: 1.0 is not one.
  CHECK(verdict(R"({"type":"integer"})", "1") == FastVerdict::valid);
  CHECK(verdict(R"({"type":"integer"})", "1.0") == FastVerdict::invalid);
  // Numbers compare as doubles in enum/const.
  CHECK(verdict(R"({"enum":[1]})", "1.0") == FastVerdict::valid);
  // Duplicate keys: Boost.JSON keeps the last one, simdjson both: left to valijson.
  CHECK(verdict(R"({"properties":{"a":{"type":"string"}}})", R"({"a":1,"a":"x"})") == FastVerdict::undecided);
  CHECK(verdict(R"({"not":{"properties":{"a":{"type":"string"}}}})", R"({"a":"x","a":1})") == FastVerdict::undecided);
  CHECK(verdict(R"({"properties":{"a":{"type":"string"}}})", R"({"a":"x","a":1})") == FastVerdict::undecided);
  // A uint64 (above INT64_MAX) is not a number for valijson: no type but "any", bounds and multipleOf skipped,
  // never equal.
  CHECK(verdict(R"({"maximum":5})", "9223372036854775808") == FastVerdict::valid);
  CHECK(verdict(R"({"type":"number"})", "9223372036854775808") == FastVerdict::invalid);
  CHECK(verdict(R"({"enum":[9223372036854775808]})", "9223372036854775808") == FastVerdict::invalid);
  CHECK(verdict(R"({"multipleOf":2})", "9223372036854775808") == FastVerdict::valid);
  // multipleOf (our keyword, multiple_of.hpp): numbers only, exact under an integer divisor at any magnitude.
  CHECK(verdict(R"({"multipleOf":3})", R"("10")") == FastVerdict::valid);
  CHECK(verdict(R"({"multipleOf":3})", "6.5") == FastVerdict::invalid);
  CHECK(verdict(R"({"multipleOf":3})", "-9e18") == FastVerdict::valid);
  CHECK(verdict(R"({"multipleOf":2})", "1e300") == FastVerdict::valid);
  CHECK(verdict(R"({"multipleOf":0.1})", "0.3") == FastVerdict::valid);
  CHECK(verdict(R"({"multipleOf":0.1})", "0.35") == FastVerdict::invalid);
  CHECK(verdict(R"({"multipleOf":0.1})", "12") == FastVerdict::valid);
  CHECK(verdict(R"({"multipleOf":0.01})", "19.99") == FastVerdict::valid);
  // Strings end at their first NUL byte for valijson.
  CHECK(verdict(R"({"maxLength":1})", R"("a\u0000bc")") == FastVerdict::valid);
  CHECK(verdict(R"({"const":"a"})", R"("a\u0000b")") == FastVerdict::valid);
  // Lengths count code points (eight bytes at a time, then byte by byte): 9 two-byte and 2 four-byte ones.
  const char* text = R"("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\ud83d\ude00\ud83d\ude00")";
  CHECK(verdict(R"({"maxLength":11})", text) == FastVerdict::valid);
  CHECK(verdict(R"({"maxLength":10})", text) == FastVerdict::invalid);
  CHECK(verdict(R"({"minLength":11})", text) == FastVerdict::valid);
  CHECK(verdict(R"({"minLength":12})", text) == FastVerdict::invalid);
  CHECK(verdict(R"({"minLength":0,"maxLength":0})", R"("")") == FastVerdict::valid);
  // additionalProperties false, required, $ref recursion.
  const char* tree = R"({"type":"object","required":["v"],"additionalProperties":false,
    "properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}}})";
  CHECK(verdict(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]})") == FastVerdict::valid);
  CHECK(verdict(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":"3"}]}]})") == FastVerdict::invalid);
  CHECK(verdict(tree, R"({"v":1,"kids":[{"v":2,"x":0}]})") == FastVerdict::invalid);
  CHECK(verdict(tree, R"({"kids":[]})") == FastVerdict::invalid);
  // Property names found by hash (size, first, middle and last byte): names that share all four must still be
  // told apart, and a name the schema lacks must not match one that shares them.
  std::string many = R"({"type":"object","additionalProperties":false,"properties":{)";
  std::string good = "{", bad_type = "{";
  for (char c = 'a'; c <= 't'; ++c) {
    std::string name = std::string("k") + c + "yk";  // 20 names: same size, first, middle and last byte
    many += (c == 'a' ? "" : ",") + ("\"" + name + "\":{\"type\":\"integer\"}");
    good += (c == 'a' ? "" : ",") + ("\"" + name + "\":1");
    bad_type += (c == 'a' ? "" : ",") + ("\"" + name + "\":" + (c == 't' ? "\"1\"" : "1"));
  }
  many += R"(,"":{"type":"string"}}})";
  CHECK(verdict(many.c_str(), (good + "}").c_str()) == FastVerdict::valid);
  CHECK(verdict(many.c_str(), (bad_type + "}").c_str()) == FastVerdict::invalid);
  CHECK(verdict(many.c_str(), (good + R"(,"kzyk":1})").c_str()) == FastVerdict::invalid);  // not a property
  CHECK(verdict(many.c_str(), (good + R"(,"":"x"})").c_str()) == FastVerdict::valid);      // the empty name
  CHECK(verdict(many.c_str(), (good + R"(,"":1})").c_str()) == FastVerdict::invalid);
}

TEST_CASE("multipleOf must be a number greater than 0 (valijson traps on 0)", "[validators][check_tree]") {
  // valijson evaluates `integer % divisor`: a schema with multipleOf 0 would kill the process (SIGFPE) on the
  // first non-zero integer. Such a schema is refused at compile time, which the gateway turns into a 400.
  for (const char* schema : {R"({"multipleOf":0})", R"({"multipleOf":-1})", R"({"properties":{"n":{"multipleOf":0}}})",
                             R"({"multipleOf":"3"})", R"({"items":{"multipleOf":0.0}})"}) {
    auto c = compile_schema(bj::parse(schema), Limits{});
    INFO(schema);
    REQUIRE(std::holds_alternative<CompileError>(c));
    CHECK(std::get<CompileError>(c).message.find("multipleOf: must be a number greater than 0") != std::string::npos);
  }
  Validator v;
  auto x = v.expectations(R"({"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"n":{"multipleOf":0}}}}}})");
  REQUIRE(std::holds_alternative<RequestError>(x));
  CHECK(std::get<RequestError>(x).param == "response_format.json_schema.schema");
  auto ok = compile_schema(bj::parse(R"({"multipleOf":0.5})"), Limits{});
  CHECK(std::holds_alternative<SchemaHandle>(ok));
}

TEST_CASE("outputs larger than the fast path's cap take the valijson path, same verdicts", "[validators][check_tree]") {
  Validator v;
  auto x = std::get<Expectations>(v.expectations(
      R"({"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"array","items":{"type":"string","maxLength":12}}}}})"));
  REQUIRE(x.schema->tree);
  auto body_of = [](const std::string& content) {
    std::string body = R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":)";
    append_json_string(body, content);
    body += R"(},"finish_reason":"stop"}]})";
    return body;
  };
  std::string big = "[";
  for (int i = 0; i < 30000; ++i) big += (i ? ",\"item-" : "\"item-") + std::to_string(100000 + i) + "\"";
  big += "]";
  REQUIRE(big.size() > kFastPathMaxBytes);
  CHECK(v.validate(x, assemble_completion(body_of(big))).ok());
  std::string bad = big;
  bad.replace(bad.find("\"item-112345\""), 13, "12345");
  Verdict verdict = v.validate(x, assemble_completion(body_of(bad)));
  REQUIRE_FALSE(verdict.ok());
  CHECK(verdict.findings[0].path == "/12345");
}

TEST_CASE("strings_may_hold_nul finds the one escape that puts a NUL in a string", "[validators][check_tree]") {
  CHECK(strings_may_hold_nul(R"({"a":"x\u0000y"})"));
  CHECK(strings_may_hold_nul(R"(["\\\u0000"])"));        // an escaped backslash, then the NUL escape
  CHECK_FALSE(strings_may_hold_nul(R"(["\\u0000"])"));   // an escaped backslash, then the text "u0000"
  CHECK_FALSE(strings_may_hold_nul(R"({"a":"\"u0000\n"})"));
  CHECK_FALSE(strings_may_hold_nul(R"({"a":"\u0001"})"));
  CHECK_FALSE(strings_may_hold_nul("[1,2,3]"));
  CHECK_FALSE(strings_may_hold_nul(""));
}
