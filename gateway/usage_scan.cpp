#include "gateway/usage_scan.hpp"

#include <cstring>

namespace slipway {

namespace {

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// vLLM serializes `usage` as a chunk's last member: with include_usage on, every chunk before the usage
// chunk ends this way. Recognised by its last bytes, such a chunk needs no search: two memmem passes per
// chunk (one to find a usage object, one to strip the null) were 17 % of a 200-chunk stream's user-space
// instructions (bench/instructions.sh --workload stream). In valid JSON these bytes can only be the
// top-level object's last member: the final '}' closes it, so the quote before `usage` opens a key.
constexpr std::string_view kNullUsageLast = ",\"usage\":null}";

// Where `needle` first occurs in `hay`, in one memmem pass. std::string_view::find calls memchr once per
// occurrence of the needle's first character (every '"' or ',' of a chunk's JSON): 6 % of a 200-chunk
// stream's CPU (bench/profile.sh --workload stream --perf).
std::size_t find_bytes(std::string_view hay, std::string_view needle) {
  const void* at = ::memmem(hay.data(), hay.size(), needle.data(), needle.size());
  return at ? static_cast<std::size_t>(static_cast<const char*>(at) - hay.data()) : std::string_view::npos;
}

// A chunk whose data may carry a usage object ("usage" then ':' then '{', spaces allowed): read_usage decides.
bool may_carry_usage(std::string_view data) {
  static constexpr std::string_view key = "\"usage\"";
  for (std::size_t at = find_bytes(data, key); at != std::string_view::npos;) {
    std::size_t p = at + key.size();
    while (p < data.size() && json_space(data[p])) ++p;
    if (p < data.size() && data[p] == ':') {
      ++p;
      while (p < data.size() && json_space(data[p])) ++p;
      if (p < data.size() && data[p] == '{') return true;
    }
    std::size_t next = find_bytes(data.substr(at + 1), key);
    at = next == std::string_view::npos ? next : at + 1 + next;
  }
  return false;
}

// Reads {"usage": {...}} of a parsed chunk or body; when `only_usage_chunk`, the chunk must also have
// "choices": [] (the last chunk of a stream with include_usage).
bool read_usage(simdjson::dom::parser& parser, std::string_view json, bool only_usage_chunk, Usage& usage) {
  if (json.size() < 2 || json.front() != '{' || json.find("\"usage\"") == std::string_view::npos) return false;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root)) return false;
  if (only_usage_chunk) {
    simdjson::dom::array choices;
    if (root["choices"].get_array().get(choices) || choices.size() != 0) return false;
  }
  simdjson::dom::object u;
  if (root["usage"].get_object().get(u)) return false;
  int64_t v;
  if (!u["prompt_tokens"].get_int64().get(v)) usage.prompt_tokens = v;
  if (!u["completion_tokens"].get_int64().get(v)) usage.completion_tokens = v;
  return true;
}

// The value of the last `"usage"` key of a JSON text, when it is an object and the key is a real one: the
// quote before it follows ',' or '{' (inside a JSON string every quote is escaped, so a string's text can
// never match). Empty when not found that way.
std::string_view last_usage_object(std::string_view body) {
  static constexpr std::string_view key = "\"usage\"";
  const std::size_t at = body.rfind(key);
  if (at == std::string_view::npos) return {};
  std::size_t before = at;
  while (before > 0 && json_space(body[before - 1])) --before;
  if (before == 0 || (body[before - 1] != ',' && body[before - 1] != '{')) return {};
  std::size_t p = at + key.size();
  while (p < body.size() && json_space(body[p])) ++p;
  if (p >= body.size() || body[p] != ':') return {};
  ++p;
  while (p < body.size() && json_space(body[p])) ++p;
  if (p >= body.size() || body[p] != '{') return {};
  int depth = 0;
  for (std::size_t q = p; q < body.size(); ++q) {
    char c = body[q];
    if (c == '"') {  // skip a string (keys; a string value would be unusual here but must not confuse us)
      for (++q; q < body.size() && body[q] != '"'; ++q)
        if (body[q] == '\\') ++q;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return body.substr(p, q - p + 1);
    }
  }
  return {};
}

}  // namespace

bool parse_usage_chunk(simdjson::dom::parser& parser, std::string_view data, Usage& usage) {
  if (data.ends_with(kNullUsageLast) || !may_carry_usage(data)) return false;
  return read_usage(parser, data, true, usage);
}

bool parse_body_usage(simdjson::dom::parser& parser, std::string_view body, Usage& usage) {
  // vLLM writes "usage" as the last member, after the choices that are most of the body: only that object
  // is parsed (a whole 4 KiB structured answer parsed for it was 6.7 % of the request's CPU, measured). A
  // body where it cannot be found that way is parsed whole, as before.
  std::string_view object = last_usage_object(body);
  if (object.empty()) return read_usage(parser, body, false, usage);
  simdjson::dom::element u;
  if (parser.parse(object.data(), object.size()).get(u) || !u.is_object()) return false;
  int64_t v;
  if (!u["prompt_tokens"].get_int64().get(v)) usage.prompt_tokens = v;
  if (!u["completion_tokens"].get_int64().get(v)) usage.completion_tokens = v;
  return true;
}

void append_without_null_usage(std::string& out, std::string_view event) {
  // The event's bytes before its terminating line ends: a one-line `data:` event ends with the chunk's JSON.
  std::size_t end = event.size();
  while (end > 0 && (event[end - 1] == '\n' || event[end - 1] == '\r')) --end;
  if (event.substr(0, end).ends_with(kNullUsageLast)) {
    out.append(event.substr(0, end - kNullUsageLast.size()));
    out.push_back('}');
    out.append(event.substr(end));
    return;
  }
  static constexpr std::string_view field = ",\"usage\":null";
  std::size_t at = find_bytes(event, field);
  if (at == std::string_view::npos) {
    out.append(event);
    return;
  }
  out.append(event.substr(0, at));
  out.append(event.substr(at + field.size()));
}

}  // namespace slipway
