// Slices: schema depth (the simulator's measure) and predicate matching.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "config/config.hpp"
#include "gateway/slices.hpp"

using namespace slipway;

namespace {

int depth_of(const std::string& body) {
  simdjson::dom::parser parser;
  return request_schema_depth(parser, body);
}

struct FakeRequest final : RouteView {
  std::map<std::string, std::string> headers;
  std::string_view header(std::string_view name, bool& present) const override {
    auto it = headers.find(std::string(name));
    present = it != headers.end();
    return present ? std::string_view(it->second) : std::string_view{};
  }
};

std::shared_ptr<const config::Config> parse(const std::string& yaml) {
  auto r = config::parse_config(yaml, "t.yaml");
  for (const auto& e : r.errors) FAIL(e.to_string());
  return r.config;
}

}  // namespace

TEST_CASE("slices: schema depth of the request's schema", "[slices]") {
  CHECK(depth_of(R"({"model":"m"})") == 0);
  CHECK(depth_of(R"({"response_format":{"type":"json_object"}})") == 0);
  CHECK(depth_of(R"({"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}})") == 1);
  const std::string deep =
      R"({"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"array","items":{"type":"string"}}}}}})";
  CHECK(depth_of(R"({"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":)" + deep + "}}}") == 3);
  CHECK(depth_of(R"({"guided_json":)" + deep + "}") == 3);
  // guided_json as a string holding the schema
  CHECK(depth_of(R"({"guided_json":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\"}}}"})") == 2);
  // $ref followed; anyOf does not add a level
  CHECK(depth_of(R"({"guided_json":{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"anyOf":[{"type":"object","properties":{"q":{"type":"array"}}}]}}}})") == 3);
  // a $ref cycle terminates
  CHECK(depth_of(R"({"guided_json":{"type":"object","properties":{"self":{"$ref":"#"}}}})") > 0);
}

TEST_CASE("slices: predicates, all must hold, and bit i is the i-th slice", "[slices]") {
  auto cfg = parse(R"(
models:
  - name: m
    baseline: {endpoints: ["h:1"]}
routes:
  - {name: legal, match: {header: {name: x-tenant, values: [legal]}}}
slices:
  - {name: long_context, prompt_tokens_over: 8000}
  - {name: tools, tools_at_least: 1}
  - {name: json_schema, response_format: json_schema}
  - {name: deep_schema, schema_depth_at_least: 3}
  - {name: streaming, stream: true}
  - {name: fr, header: {name: x-lang, values: [fr]}}
  - {name: legal_route, route: legal}
  - {name: text, response_format: text}
  - {name: fr_stream, stream: true, header: {name: x-lang, values: [fr]}}
)");
  RequestFacts f;
  f.model = "m";
  FakeRequest req;
  req.model = "m";
  req.path = "/v1/chat/completions";
  CHECK(match_slices(*cfg, {f, 0, req}) == (1u << 7));  // plain text only

  f.prompt_chars = 8000 * 4 + 4;
  f.tools = 2;
  f.response_format = "json_schema";
  f.stream = true;
  req.headers["x-lang"] = "fr";
  req.headers["x-tenant"] = "legal";
  CHECK(match_slices(*cfg, {f, 3, req}) == 0b101111111u);

  f.prompt_chars = 8000 * 4;  // 8000 is not over 8000
  f.response_format.clear();
  f.guided_json = true;       // guided_json counts as json_schema
  req.headers["x-lang"] = "de";
  auto mask = match_slices(*cfg, {f, 2, req});
  CHECK((mask & 1u) == 0);
  CHECK((mask & (1u << 2)) != 0);
  CHECK((mask & (1u << 3)) == 0);
  CHECK((mask & (1u << 5)) == 0);
  CHECK((mask & (1u << 8)) == 0);
  CHECK(slices_need_schema_depth(*cfg));
}
