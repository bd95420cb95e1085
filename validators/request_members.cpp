#include "validators/request_members.hpp"

#include <array>
#include <cstring>

#include <boost/json/parse.hpp>
#include <simdjson.h>

namespace slipway::validators {

namespace {

namespace bj = boost::json;

// simdjson's parser keeps buffers of about 14x the largest document it parsed: this bounds them (≈ 3.5 MiB per
// thread). Larger bodies are parsed whole by Boost.JSON, as before.
constexpr size_t kMaxBodyBytes = 256 * 1024;
constexpr size_t kMaxDepth = 256;          // under parse_expectations' 512: deeper bodies take the old path
constexpr size_t npos = std::string_view::npos;

// What parse_expectations reads (request_expectations.cpp), and the two members only tested for presence.
constexpr std::array<std::string_view, 9> kRead = {
    "stream", "max_completion_tokens", "max_tokens", "response_format", "guided_json", "structured_outputs",
    "tools", "tool_choice", "parallel_tool_calls"};
constexpr std::array<std::string_view, 2> kPresence = {"messages", "prompt"};

template <size_t N>
bool in(const std::array<std::string_view, N>& set, std::string_view k) {
  for (auto s : set)
    if (s == k) return true;
  return false;
}

// The scanner below runs on text simdjson has validated, so it only has to find where values end.
size_t skip_ws(std::string_view s, size_t p) {
  while (p < s.size() && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) ++p;
  return p;
}

// s[p] is an opening quote: the index just past the closing one.
size_t string_end(std::string_view s, size_t p) {
  ++p;
  for (;;) {
    const void* q = p < s.size() ? std::memchr(s.data() + p, '"', s.size() - p) : nullptr;
    if (!q) return npos;
    size_t i = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    size_t b = i;
    while (b > p && s[b - 1] == '\\') --b;
    if ((i - b) % 2 == 0) return i + 1;  // an even run of backslashes: the quote is not escaped
    p = i + 1;
  }
}

// s[p] starts a value: the index just past it.
size_t value_end(std::string_view s, size_t p) {
  if (p >= s.size()) return npos;
  if (s[p] == '"') return string_end(s, p);
  if (s[p] == '{' || s[p] == '[') {
    size_t depth = 0;
    while (p < s.size()) {
      char c = s[p];
      if (c == '"') {
        p = string_end(s, p);
        if (p == npos) return npos;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return npos;
  }
  while (p < s.size() && s[p] != ',' && s[p] != '}' && s[p] != ']' && s[p] != ' ' && s[p] != '\t' &&
         s[p] != '\n' && s[p] != '\r')
    ++p;
  return p;
}

}  // namespace

std::optional<bj::value> read_request_members(std::string_view body) {
  if (body.size() > kMaxBodyBytes) return std::nullopt;
  thread_local simdjson::dom::parser validator(kMaxBodyBytes);
  thread_local bool ready = validator.allocate(4096, kMaxDepth) == simdjson::SUCCESS;
  if (!ready) return std::nullopt;
  auto doc = validator.parse(body.data(), body.size(), true);
  if (doc.error() || !doc.value_unsafe().is_object()) return std::nullopt;

  bj::parse_options po;
  po.max_depth = 512;
  bj::object out;
  size_t p = skip_ws(body, 0);
  if (p >= body.size() || body[p] != '{') return std::nullopt;
  p = skip_ws(body, p + 1);
  if (p < body.size() && body[p] == '}') return bj::value(std::move(out));
  while (p < body.size()) {
    size_t key_end = string_end(body, p);
    if (key_end == npos) return std::nullopt;
    std::string_view raw_key = body.substr(p, key_end - p);
    // Keys are compared unescaped, as Boost.JSON stores them ("\u0074ools" is "tools").
    bj::string escaped_key;
    std::string_view key = raw_key.substr(1, raw_key.size() - 2);
    if (key.find('\\') != npos) {
      bj::error_code ec;
      bj::value k = bj::parse(raw_key, ec);
      if (ec || !k.is_string()) return std::nullopt;
      escaped_key = std::move(k.get_string());
      key = escaped_key;
    }
    p = skip_ws(body, key_end);
    if (p >= body.size() || body[p] != ':') return std::nullopt;
    p = skip_ws(body, p + 1);
    size_t v_end = value_end(body, p);
    if (v_end == npos) return std::nullopt;
    // As Boost.JSON does with a repeated key: the first one's place, the last one's value.
    if (in(kRead, key)) {
      bj::error_code ec;
      bj::value v = bj::parse(body.substr(p, v_end - p), ec, {}, po);
      if (ec) return std::nullopt;
      out[key] = std::move(v);
    } else if (in(kPresence, key)) {
      out[key] = nullptr;
    }
    p = skip_ws(body, v_end);
    if (p >= body.size()) return std::nullopt;
    if (body[p] == '}') return bj::value(std::move(out));
    if (body[p] != ',') return std::nullopt;
    p = skip_ws(body, p + 1);
  }
  return std::nullopt;
}

}  // namespace slipway::validators
