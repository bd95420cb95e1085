// Fuzz target: request admission. The first byte picks chat vs completions; the rest is the body.
// Besides "no crash, no sanitizer report" it checks what the gateway relies on:
//  - admit_body never accepts JSON nested deeper than the parser's depth limit;
//  - for an admitted body, rewrite_body gives valid JSON whose "model" is the served name (the
//    upstream must never see the client's model name), and include_usage is set when asked for.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "gateway/admission.hpp"

namespace {

constexpr std::size_t kDepthLimit = 64;  // config's default limits.max_json_depth

simdjson::dom::parser& body_parser() {
  static simdjson::dom::parser p = [] {
    simdjson::dom::parser q;
    if (q.allocate(64 * 1024, kDepthLimit)) std::abort();
    return q;
  }();
  return p;
}

void fail(const char* what, std::string_view body) {
  std::fprintf(stderr, "invariant broken: %s\nbody: %.*s\n", what, static_cast<int>(body.size()), body.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool chat = data[0] & 1;
  bool request_usage = data[0] & 2;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  // find_top_level_value is only called on valid JSON by the gateway, but it must not read out of
  // bounds on anything; the span it returns must lie inside the text.
  for (std::string_view key : {"model", "stream_options", "messages"})
    if (auto span = slipway::find_top_level_value(body, key))
      if (span->offset > body.size() || span->length > body.size() - span->offset) fail("span out of bounds", body);

  auto admitted = slipway::admit_body(body_parser(), body, chat);
  auto* facts = std::get_if<slipway::RequestFacts>(&admitted);
  if (!facts) return 0;

  std::string rewritten = slipway::rewrite_body(body, "served-model", request_usage);
  static simdjson::dom::parser check(1 << 20);  // a second parser, no depth limit of ours
  simdjson::dom::element root;
  if (check.parse(rewritten).get(root)) fail("rewritten body is not valid JSON", body);
  std::string_view model;
  if (root["model"].get_string().get(model) || model != "served-model") fail("rewritten model is not the served name", body);
  if (request_usage) {
    bool usage = false;
    if (root["stream_options"]["include_usage"].get_bool().get(usage) || !usage)
      fail("include_usage not set in the rewritten body", body);
  }
  return 0;
}
