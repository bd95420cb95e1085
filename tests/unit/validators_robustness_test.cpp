// Robustness: mutated requests, bodies and SSE streams never crash or throw out of the validators, and deep
// nesting is refused cleanly. Deterministic (fixed seed); run under ASan/UBSan in CI builds that have them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "validators/validator.hpp"

using namespace slipway::validators;

namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

std::string mutate(const std::string& in, Rng& rng) {
  static const char* tokens[] = {"{", "}", "[", "]", "\"", ",", ":", "null", "\\u0000", "\\", "1e999", "-0",
                                 "\"$ref\":\"#\"", "\"pattern\":\"(\"", "\xff", "\xc3", "data: ", "\n\n", "[DONE]"};
  std::string s = in;
  int n = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < n && !s.empty(); ++i) {
    size_t pos = rng.below(s.size());
    switch (rng.below(4)) {
      case 0: s[pos] = static_cast<char>(rng.below(256)); break;
      case 1: s.erase(pos, 1 + rng.below(8)); break;
      case 2: s.insert(pos, tokens[rng.below(sizeof tokens / sizeof *tokens)]); break;
      default: s.resize(pos); break;
    }
  }
  return s;
}

const char* kRequests[] = {
    R"({"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string","pattern":"^[a-z]+$","format":"date"},"b":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["a"],"$defs":{"n":{"type":"object","properties":{"c":{"$ref":"#/$defs/n"}}}}}}}})",
    R"({"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"enum":[1,2]}},"required":["x"]}}}],"tool_choice":"required","parallel_tool_calls":false})",
    R"({"model":"m","prompt":"p","guided_json":"{\"type\":\"object\"}","max_tokens":3})",
};

const char* kResponses[] = {
    R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":\"xyz\",\"b\":[{\"c\":{}}]}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})",
    R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},"finish_reason":"tool_calls"}]})",
    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}\n\n"
    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":2}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n",
    R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call> I'm sorry, but I can't"},"finish_reason":"stop"}]})",
};

}  // namespace

TEST_CASE("mutated inputs never crash or throw", "[validators][robustness]") {
  Rng rng{0x5eed1234abcdULL};
  Limits lim;
  lim.max_assembled_bytes = 4096;
  Validator v(lim);
  size_t runs = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string req = round % 3 == 0 ? kRequests[rng.below(3)] : mutate(kRequests[rng.below(3)], rng);
    std::string resp = mutate(kResponses[rng.below(4)], rng);
    REQUIRE_NOTHROW([&] {
      auto x = v.expectations(req);
      if (std::holds_alternative<RequestError>(x)) {
        ++rejected;
        return;
      }
      auto verdict = v.validate(std::get<Expectations>(x), v.assemble(resp));
      (void)to_json(verdict);
      StreamAssembler a(lim.max_assembled_bytes);
      for (size_t i = 0; i < resp.size(); i += 1 + rng.below(64)) a.on_bytes(std::string_view(resp).substr(i, 64));
      a.on_event_data(resp);
      (void)v.validate(std::get<Expectations>(x), a.finish());
      ++runs;
    }());
  }
  CHECK(runs > 500);
  CHECK(rejected > 100);
}

TEST_CASE("deep nesting is refused cleanly", "[validators][robustness]") {
  Validator v;
  std::string deep_schema(100000, '[');
  auto r = v.expectations(R"({"messages":[],"guided_json":)" + deep_schema + "}");
  CHECK(std::holds_alternative<RequestError>(r));
  std::string nested = R"({"type":"object","properties":{"a":)";
  std::string close = "}}";
  std::string schema = "{}";
  for (int i = 0; i < 40; ++i) schema = R"({"type":"object","properties":{"a":)" + schema + "}}";
  auto r2 = v.expectations(R"({"messages":[],"guided_json":)" + schema + "}");
  REQUIRE(std::holds_alternative<RequestError>(r2));
  CHECK_THAT(std::get<RequestError>(r2).message, Catch::Contains("deeper than 32"));

  auto x = std::get<Expectations>(v.expectations(R"({"messages":[],"response_format":{"type":"json_object"}})"));
  std::string content(50000, '[');
  std::string body = R"({"object":"chat.completion","choices":[{"index":0,"message":{"content":")" + content + R"("},"finish_reason":"stop"}]})";
  auto verdict = v.validate(x, assemble_completion(body));
  CHECK(verdict.has(FindingKind::json_invalid));
  CHECK(v.validate(x, assemble_completion(std::string(100000, '['))).has(FindingKind::json_invalid));
  // Many '{' with "name" in a plain answer: the leak scan stays bounded.
  auto xt = std::get<Expectations>(v.expectations(kRequests[1]));
  std::string noisy;
  for (int i = 0; i < 5000; ++i) noisy += "{\\\"name\\\": ";
  std::string b2 = R"({"object":"chat.completion","choices":[{"index":0,"message":{"content":")" + noisy + R"("},"finish_reason":"stop"}]})";
  CHECK_NOTHROW(v.validate(xt, assemble_completion(b2)));
}
