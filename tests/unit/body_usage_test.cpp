// parse_body_usage: the usage object of a whole answer, found from the end of the body.
#include <catch2/catch.hpp>

#include "gateway/relay.hpp"

using namespace slipway;

namespace {
std::optional<Usage> usage_of(const std::string& body) {
  static simdjson::dom::parser parser;
  Usage u;
  if (!parse_body_usage(parser, body, u)) return std::nullopt;
  return u;
}
}  // namespace

TEST_CASE("the usage of a whole answer is read from its last member") {
  auto u = usage_of(R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":15,"total_tokens":27,"completion_tokens":12,"prompt_tokens_details":null}})");
  REQUIRE(u);
  CHECK(u->prompt_tokens == 15);
  CHECK(u->completion_tokens == 12);

  // Pretty-printed, with nested details.
  u = usage_of("{\n  \"choices\": [],\n  \"usage\" : {\n    \"prompt_tokens\": 3,\n    \"completion_tokens\": 4,\n"
               "    \"completion_tokens_details\": {\"reasoning_tokens\": 1}\n  }\n}");
  REQUIRE(u);
  CHECK(u->prompt_tokens == 3);
  CHECK(u->completion_tokens == 4);
}

TEST_CASE("text that mentions usage never passes for it") {
  // The generated text quotes a usage object after the real one: its quotes are escaped, so it cannot match.
  auto u = usage_of(R"({"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[{"message":{"content":"{\"usage\":{\"prompt_tokens\":999}}"}}]})");
  REQUIRE(u);
  CHECK(u->prompt_tokens == 1);
  CHECK(u->completion_tokens == 2);
  // A key that ends in an escaped quote followed by usage: not a usage key.
  u = usage_of(R"({"choices":[],"a\"usage":{"prompt_tokens":7}})");
  CHECK_FALSE(u);
  CHECK_FALSE(usage_of(R"({"choices":[],"usage":null})"));
  CHECK_FALSE(usage_of(R"({"choices":[]})"));
  CHECK_FALSE(usage_of(R"(<html>usage</html>)"));
  CHECK_FALSE(usage_of(R"({"choices":[],"usage":{"prompt_tokens":1)"));  // cut short
}
