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

// The index of a member parse_expectations reads, or -1.
int read_member_index(std::string_view k) {
  for (size_t i = 0; i < kRequestMembersRead.size(); ++i)
    if (kRequestMembersRead[i] == k) return static_cast<int>(i);
  return -1;
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

std::optional<RequestMemberTexts> scan_request_members(std::string_view body, JsonText text) {
  if (text == JsonText::unchecked) {
    if (body.size() > kMaxBodyBytes) return std::nullopt;
    thread_local simdjson::dom::parser validator(kMaxBodyBytes);
    thread_local bool ready = validator.allocate(4096, kMaxDepth) == simdjson::SUCCESS;
    if (!ready) return std::nullopt;
    auto doc = validator.parse(body.data(), body.size(), true);
    if (doc.error() || !doc.value_unsafe().is_object()) return std::nullopt;
  }

  RequestMemberTexts out;
  size_t p = skip_ws(body, 0);
  if (p >= body.size() || body[p] != '{') return std::nullopt;
  p = skip_ws(body, p + 1);
  if (p < body.size() && body[p] == '}') return out;
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
    if (int which = read_member_index(key); which >= 0)
      out.read.push_back({static_cast<uint8_t>(which), body.substr(p, v_end - p)});
    else if (key == "messages")
      out.has_messages = true;
    else if (key == "prompt")
      out.has_prompt = true;
    p = skip_ws(body, v_end);
    if (p >= body.size()) return std::nullopt;
    if (body[p] == '}') return out;
    if (body[p] != ',') return std::nullopt;
    p = skip_ws(body, p + 1);
  }
  return std::nullopt;
}

std::optional<bj::value> members_object(const RequestMemberTexts& texts, bool (*keep)(std::string_view key)) {
  bj::parse_options po;
  po.max_depth = 512;
  bj::object out;
  // Presence only: what counts is that the conversation is there.
  if (texts.has_messages) out["messages"] = nullptr;
  if (texts.has_prompt) out["prompt"] = nullptr;
  for (const auto& m : texts.read) {
    std::string_view key = kRequestMembersRead[m.which];
    if (keep && !keep(key)) continue;
    bj::error_code ec;
    bj::value v = bj::parse(m.value, ec, {}, po);
    if (ec) return std::nullopt;
    // As Boost.JSON does with a repeated key: the last one's value.
    out[key] = std::move(v);
  }
  return bj::value(std::move(out));
}

std::optional<bj::value> read_request_members(std::string_view body) {
  auto texts = scan_request_members(body);
  if (!texts) return std::nullopt;
  return members_object(*texts);
}

}  // namespace slipway::validators
