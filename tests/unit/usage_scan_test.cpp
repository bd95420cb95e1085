// gateway/usage_scan: the usage of a whole answer (found from the end of the body) and of a stream (its
// usage-only last chunk), and the "usage":null the gateway asked for, stripped from the chunks a client sees.
#include <catch2/catch.hpp>

#include "gateway/usage_scan.hpp"

using namespace slipway;

namespace {
std::optional<Usage> usage_of(const std::string& body) {
  static simdjson::dom::parser parser;
  Usage u;
  if (!parse_body_usage(parser, body, u)) return std::nullopt;
  return u;
}

std::optional<Usage> chunk_usage(const std::string& data) {
  static simdjson::dom::parser parser;
  Usage u;
  if (!parse_usage_chunk(parser, data, u)) return std::nullopt;
  return u;
}

std::string stripped(std::string_view event) {
  std::string out = "<";  // appends: what was there stays
  append_without_null_usage(out, event);
  return out;
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

TEST_CASE("a stream's usage is its usage-only chunk, whatever the other chunks say") {
  // The chunk vLLM ends a stream with when include_usage is on.
  auto u = chunk_usage(R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"total_tokens":20,"completion_tokens":11}})");
  REQUIRE(u);
  CHECK(u->prompt_tokens == 9);
  CHECK(u->completion_tokens == 11);
  // Spaces around the colon, usage first.
  u = chunk_usage(R"({"usage" :  {"prompt_tokens":1,"completion_tokens":2}, "choices": []})");
  REQUIRE(u);
  CHECK(u->completion_tokens == 2);

  // Every chunk before it: "usage":null last (vLLM's order), or elsewhere, or absent.
  CHECK_FALSE(chunk_usage(R"({"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null})"));
  CHECK_FALSE(chunk_usage(R"({"id":"c","usage":null,"choices":[{"index":0,"delta":{"content":"hi"}}]})"));
  CHECK_FALSE(chunk_usage(R"({"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]})"));
  // continuous_usage_stats: usage in a chunk that still has choices is not the stream's total.
  CHECK_FALSE(chunk_usage(R"({"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}})"));
  // Generated text that quotes a usage chunk, its own last bytes included.
  CHECK_FALSE(chunk_usage(R"({"choices":[{"index":0,"delta":{"content":"{\"choices\":[],\"usage\":{\"prompt_tokens\":5}}"}}],"usage":null})"));
  CHECK_FALSE(chunk_usage("[DONE]"));
  CHECK_FALSE(chunk_usage(R"({"choices":[],"usage":{"prompt_tokens":1)"));  // cut short
}

TEST_CASE("the usage:null the gateway asked for is taken out of each event, and nothing else") {
  // vLLM's order: usage last. Line ends of either kind are kept as they came.
  CHECK(stripped("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n") ==
        "<data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
  CHECK(stripped("data: {\"choices\":[],\"usage\":null}\r\n\r\n") == "<data: {\"choices\":[]}\r\n\r\n");
  // Elsewhere in the chunk.
  CHECK(stripped("data: {\"id\":\"c\",\"usage\":null,\"choices\":[]}\n\n") == "<data: {\"id\":\"c\",\"choices\":[]}\n\n");
  // Nothing to strip: the event passes unchanged.
  CHECK(stripped("data: {\"id\":\"c\",\"choices\":[]}\n\n") == "<data: {\"id\":\"c\",\"choices\":[]}\n\n");
  CHECK(stripped("data: [DONE]\n\n") == "<data: [DONE]\n\n");
  CHECK(stripped(": keep-alive\n\n") == "<: keep-alive\n\n");
  // A usage object (continuous_usage_stats) is the client's to see.
  const std::string with_usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n";
  CHECK(stripped(with_usage) == "<" + with_usage);
}
