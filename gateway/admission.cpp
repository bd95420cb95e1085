#include "gateway/admission.hpp"

#include "validators/json_members.hpp"
#include "validators/verdict.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace slipway {

namespace {

ClientError bad(std::string message, std::string param = {}, std::string code = {}) {
  ClientError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

std::size_t content_chars(simdjson::dom::element content) {
  std::string_view text;
  if (!content.get_string().get(text)) return text.size();
  simdjson::dom::array parts;
  std::size_t n = 0;
  if (!content.get_array().get(parts))
    for (auto part : parts)
      if (!part["text"].get_string().get(text)) n += text.size();
  return n;
}

}  // namespace

std::variant<RequestFacts, ClientError> admit_body(simdjson::dom::parser& parser, std::string_view body,
                                                   bool chat) {
  if (body.empty()) return bad("The request body is empty; expected a JSON object.");
  simdjson::dom::element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root)) {
    if (err == simdjson::DEPTH_ERROR)
      return bad("The request body nests JSON deeper than the limit of " + std::to_string(parser.max_depth()) +
                 " levels.", "", "json_too_deep");
    return bad(std::string("The request body is not valid JSON: ") + simdjson::error_message(err), "",
               "invalid_json");
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return bad("The request body must be a JSON object.");

  enum : std::size_t { kModel, kUser, kStream, kStreamOptions, kResponseFormat, kGuidedJson, kStructuredOutputs,
                       kTools, kToolChoice, kMaxCompletionTokens, kMaxTokens, kMessages, kPrompt, kMemberCount };
  static constexpr std::array<std::string_view, kMemberCount> kNames{
      "model", "user", "stream", "stream_options", "response_format", "guided_json", "structured_outputs",
      "tools", "tool_choice", "max_completion_tokens", "max_tokens", "messages", "prompt"};
  const validators::JsonMembers<kMemberCount> m(obj, kNames);

  RequestFacts f;
  std::string_view sv;
  simdjson::dom::element el;
  if (!m.get(kModel, el)) return bad("Missing required parameter: 'model'.", "model", "missing_required_parameter");
  if (el.get_string().get(sv)) return bad("'model' must be a string.", "model");
  f.model = sv;

  if (m.get(kUser, el) && !el.get_string().get(sv)) f.user = sv;
  if (m.get_non_null(kStream, el)) {
    bool b;
    if (el.get_bool().get(b)) return bad("'stream' must be a boolean.", "stream");
    f.stream = b;
  }
  if (m.get_non_null(kStreamOptions, el)) {
    bool b;
    if (!el["include_usage"].get_bool().get(b)) f.client_wants_usage = b;
  }
  if (m.get_non_null(kResponseFormat, el)) {
    f.asks_for_structure = true;
    if (!el["type"].get_string().get(sv)) f.response_format = sv;
  }
  if (m.get_non_null(kGuidedJson, el)) f.guided_json = f.asks_for_structure = true;
  if (m.get_non_null(kStructuredOutputs, el)) f.asks_for_structure = true;
  simdjson::dom::array arr;
  if (m.get_non_null(kTools, el)) {
    f.asks_for_structure = true;
    if (el.get_array().get(arr)) return bad("'tools' must be an array.", "tools");
    f.tools = arr.size();
  }
  if (m.get_non_null(kToolChoice, el)) {
    f.asks_for_structure = true;
    if (!el.get_string().get(sv)) f.tool_choice = sv;
    else if (!el["function"]["name"].get_string().get(sv)) f.tool_choice = sv;
  }
  int64_t n;
  for (std::size_t key : {kMaxCompletionTokens, kMaxTokens})
    if (!f.max_tokens && m.get(key, el) && !el.get_int64().get(n)) f.max_tokens = n;

  if (chat) {
    if (!m.get(kMessages, el)) return bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
    if (el.get_array().get(arr)) return bad("'messages' must be an array.", "messages");
    for (auto msg : arr) {
      simdjson::dom::element content;
      if (!msg["content"].get(content)) f.prompt_chars += content_chars(content);
    }
  } else if (m.get(kPrompt, el)) {
    if (!el.get_string().get(sv)) f.prompt_chars = sv.size();
    else if (!el.get_array().get(arr))
      for (auto p : arr)
        if (!p.get_string().get(sv)) f.prompt_chars += sv.size();
  }
  return f;
}

std::optional<validators::Expectations> plain_chat_expectations(const RequestFacts& facts, bool chat) {
  if (!chat || facts.asks_for_structure) return std::nullopt;
  validators::Expectations x;
  x.is_chat = true;  // a chat request has "messages" (admission requires it)
  x.stream = facts.stream;
  x.max_tokens = facts.max_tokens;
  return x;
}

namespace {
// Skips one JSON value starting at i (whitespace already skipped); returns the index after it.
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return s.size();
  char c = s[i];
  if (c == '"') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') return i + 1;
    }
    return s.size();
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      char d = s[i];
      if (d == '"') {
        i = skip_value(s, i) - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\t' && s[i] != '\r')
    ++i;
  return i;
}
std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  return i;
}
// A key written with escapes ("m\u006fdel") is the same key to every JSON parser, admit_body's included,
// so it is compared decoded: otherwise the rewrite would miss the model admission routed on and send the
// client's model name upstream (found by tests/fuzz/fuzz_admission.cpp).
bool key_matches(std::string_view raw_key, std::string_view key) {
  if (raw_key.find('\\') == std::string_view::npos) return raw_key == key;
  thread_local simdjson::dom::parser parser;
  std::string quoted;
  quoted.reserve(raw_key.size() + 2);
  quoted.append(1, '"').append(raw_key).append(1, '"');
  std::string_view decoded;
  return !parser.parse(quoted).get_string().get(decoded) && decoded == key;
}
}  // namespace

std::optional<TextSpan> find_top_level_value(std::string_view s, std::string_view key) {
  std::size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    i = skip_ws(s, i);
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    std::size_t key_end = skip_value(s, i);
    std::string_view raw_key = s.substr(i + 1, key_end - i - 2);
    i = skip_ws(s, key_end);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = skip_ws(s, i + 1);
    std::size_t value_end = skip_value(s, i);
    if (key_matches(raw_key, key)) return TextSpan{i, value_end - i};
    i = skip_ws(s, value_end);
    if (i >= s.size() || s[i] != ',') return std::nullopt;
    ++i;
  }
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  validators::append_json_string(out, s);
  return out;
}

std::string rewrite_body(std::string_view body, std::string_view served_model, bool request_usage) {
  struct Edit {
    TextSpan span;
    std::string text;
  };
  auto model = find_top_level_value(body, "model");
  // Often the client already names the served model (the baseline serves under the public name): no edit.
  auto names_served_model = [&](TextSpan v) {
    std::string_view text = body.substr(v.offset, v.length);
    return text.size() == served_model.size() + 2 && text.front() == '"' && text.back() == '"' &&
           text.substr(1, served_model.size()) == served_model && served_model.find_first_of("\\\"") == std::string_view::npos;
  };
  const bool model_edit = model && !names_served_model(*model);
  if (!model_edit && !request_usage) return std::string(body);
  std::vector<Edit> edits;
  if (model_edit) edits.push_back({*model, json_quote(served_model)});
  if (request_usage) {
    if (auto opts = find_top_level_value(body, "stream_options"))
      edits.push_back({*opts, R"({"include_usage":true})"});
    else if (auto open = body.find('{'); open != std::string_view::npos)
      edits.push_back({{open + 1, 0}, R"("stream_options":{"include_usage":true},)"});
  }
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.span.offset < b.span.offset; });
  std::string out;
  out.reserve(body.size() + 64);
  std::size_t at = 0;
  for (const auto& e : edits) {
    out.append(body.substr(at, e.span.offset - at));
    out.append(e.text);
    at = e.span.offset + e.span.length;
  }
  out.append(body.substr(at));
  return out;
}

}  // namespace slipway
