#include "tools/replay/golden_case.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <variant>

#include <boost/json/parse.hpp>

#include "validators/validator.hpp"

namespace slipway::replay {

namespace bj = boost::json;

bool Expect::checks(Property p) const {
  switch (p) {
    case Property::valid: return true;
    case Property::valid_json: return valid_json;
    case Property::schema_valid: return schema_valid;
    case Property::tool: return tool.has_value();
    case Property::tool_args_valid: return tool_args_valid;
    case Property::refuse: return refuse.has_value();
    case Property::citation: return citation.has_value();
    case Property::length: return has_length_bounds();
    case Property::answer: return answer.has_value();
    case Property::answer_normalized: return answer_normalized.has_value();
  }
  return false;
}

bool valid_slice_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "all") return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

namespace {

// Each reader sets `error` (naming the key) and returns false on a wrong type.
bool read_true(const bj::value& v, const char* key, bool& out, std::string& error) {
  if (!v.is_bool()) {
    error = std::string("expect.") + key + ": must be true";
    return false;
  }
  if (!v.get_bool()) {
    error = std::string("expect.") + key + ": only true is meaningful (leave the key out to not check it)";
    return false;
  }
  out = true;
  return true;
}

bool read_string(const bj::value& v, const std::string& key, std::string& out, std::string& error) {
  if (!v.is_string()) {
    error = key + ": must be a string";
    return false;
  }
  out = std::string(v.get_string());
  return true;
}

bool read_count(const bj::value& v, const char* key, std::optional<int64_t>& out, std::string& error) {
  if (v.is_int64() && v.get_int64() >= 0) {
    out = v.get_int64();
    return true;
  }
  if (v.is_uint64()) {
    out = static_cast<int64_t>(v.get_uint64());
    return true;
  }
  error = std::string("expect.") + key + ": must be a non-negative integer";
  return false;
}

bool parse_expect(const bj::object& o, Expect& e, std::string& error) {
  for (const auto& kv : o) {
    const std::string key(kv.key());
    const bj::value& v = kv.value();
    bool ok = true;
    if (key == "valid_json") ok = read_true(v, "valid_json", e.valid_json, error);
    else if (key == "schema_valid") ok = read_true(v, "schema_valid", e.schema_valid, error);
    else if (key == "tool_args_valid") ok = read_true(v, "tool_args_valid", e.tool_args_valid, error);
    else if (key == "tool") {
      std::string s;
      ok = read_string(v, "expect.tool", s, error);
      if (ok && s.empty()) error = "expect.tool: must not be empty", ok = false;
      if (ok) e.tool = s;
    } else if (key == "refuse") {
      if (!v.is_bool()) error = "expect.refuse: must be true or false", ok = false;
      else e.refuse = v.get_bool();
    } else if (key == "citation") {
      std::string s;
      ok = read_string(v, "expect.citation", s, error);
      if (ok) {
        auto re = std::make_shared<RE2>(s, RE2::Quiet);
        if (!re->ok()) error = "expect.citation: not a valid RE2 pattern: " + re->error(), ok = false;
        else e.citation = s, e.citation_re = std::move(re);
      }
    } else if (key == "min_tokens") ok = read_count(v, "min_tokens", e.min_tokens, error);
    else if (key == "max_tokens") ok = read_count(v, "max_tokens", e.max_tokens, error);
    else if (key == "min_chars") ok = read_count(v, "min_chars", e.min_chars, error);
    else if (key == "max_chars") ok = read_count(v, "max_chars", e.max_chars, error);
    else if (key == "answer") {
      std::string s;
      ok = read_string(v, "expect.answer", s, error);
      if (ok) e.answer = s;
    } else if (key == "answer_normalized") {
      std::string s;
      ok = read_string(v, "expect.answer_normalized", s, error);
      if (ok) e.answer_normalized = s;
    } else {
      error = "expect: unknown key \"" + key + "\"";
      ok = false;
    }
    if (!ok) return false;
  }
  if (e.min_tokens && e.max_tokens && *e.min_tokens > *e.max_tokens) {
    error = "expect: min_tokens is greater than max_tokens";
    return false;
  }
  if (e.min_chars && e.max_chars && *e.min_chars > *e.max_chars) {
    error = "expect: min_chars is greater than max_chars";
    return false;
  }
  return true;
}

}  // namespace

bool parse_golden_line(std::string_view text, size_t line, validators::Validator& validator, GoldenCase& out,
                       std::string& error) {
  bj::error_code ec;
  bj::parse_options po;
  po.max_depth = 512;
  bj::value doc = bj::parse(text, ec, {}, po);
  if (ec) {
    error = "not JSON: " + ec.message();
    return false;
  }
  if (!doc.is_object()) {
    error = "not a JSON object";
    return false;
  }
  const bj::object& o = doc.get_object();
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (k != "id" && k != "slices" && k != "request" && k != "expect" && k != "headers" && k != "note") {
      error = "unknown key \"" + std::string(k) + "\" (expected id, slices, request, expect, headers, note)";
      return false;
    }
  }
  out = GoldenCase{};
  out.line = line;

  const bj::value* id = o.if_contains("id");
  if (!id || !id->is_string() || id->get_string().empty()) {
    error = "id: required, a non-empty string";
    return false;
  }
  out.id = std::string(id->get_string());

  if (const bj::value* s = o.if_contains("slices")) {
    if (!s->is_array()) {
      error = "slices: must be an array of strings";
      return false;
    }
    std::set<std::string> seen;
    for (const auto& t : s->get_array()) {
      if (!t.is_string() || !valid_slice_name(t.get_string())) {
        error = "slices: each tag must be a string of [a-z0-9_.-] (1-64 characters), not \"all\"";
        return false;
      }
      if (seen.insert(std::string(t.get_string())).second) out.slices.emplace_back(t.get_string());
    }
  }

  if (const bj::value* h = o.if_contains("headers")) {
    if (!h->is_object()) {
      error = "headers: must be an object of strings";
      return false;
    }
    for (const auto& kv : h->get_object()) {
      if (!kv.value().is_string() || kv.key().empty()) {
        error = "headers." + std::string(kv.key()) + ": must be a string";
        return false;
      }
      out.headers.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }

  const bj::value* req = o.if_contains("request");
  if (!req || !req->is_object()) {
    error = "request: required, an OpenAI chat completion request object";
    return false;
  }
  const bj::value* messages = req->get_object().if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty()) {
    error = "request.messages: required, a non-empty array";
    return false;
  }
  out.request = req->get_object();

  const bj::value* expect = o.if_contains("expect");
  if (!expect || !expect->is_object()) {
    error = "expect: required, an object (may be empty: only `valid` is then checked)";
    return false;
  }
  if (!parse_expect(expect->get_object(), out.expect, error)) return false;

  // Read the request as the gateway would: a request it would reject (HTTP 400) is no golden case, and the
  // properties that need a schema or tools need them in the request.
  auto x = validator.expectations_from(*req);
  if (auto* re = std::get_if<validators::RequestError>(&x)) {
    error = "request: the validators reject it (" + re->message + (re->param.empty() ? "" : ", param " + re->param) + ")";
    return false;
  }
  const auto& ex = std::get<validators::Expectations>(x);
  if (out.expect.schema_valid &&
      !(ex.response_format == validators::ResponseFormatKind::json_schema && ex.schema)) {
    error = "expect.schema_valid: the request has no JSON schema (response_format json_schema, guided_json)";
    return false;
  }
  if ((out.expect.tool || out.expect.tool_args_valid) && !ex.tools_offered()) {
    error = std::string(out.expect.tool ? "expect.tool" : "expect.tool_args_valid") +
            ": the request offers no tools (or tool_choice is \"none\")";
    return false;
  }
  if (out.expect.tool && !ex.find_tool(*out.expect.tool)) {
    error = "expect.tool: \"" + *out.expect.tool + "\" is not one of the request's tools";
    return false;
  }
  return true;
}

bool load_golden(const std::string& path, GoldenSet& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  out = GoldenSet{};
  out.path = path;
  validators::Validator validator;
  std::set<std::string> ids;
  std::string text;
  size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos || text[first] == '#' || text.compare(first, 2, "//") == 0) continue;
    GoldenCase c;
    std::string why;
    if (!parse_golden_line(text, line, validator, c, why)) {
      out.bad_lines.push_back({line, why});
      continue;
    }
    if (!ids.insert(c.id).second) {
      out.bad_lines.push_back({line, "id: \"" + c.id + "\" is used by an earlier line"});
      continue;
    }
    out.cases.push_back(std::move(c));
  }
  if (in.bad()) {
    error = path + ": read error";
    return false;
  }
  return true;
}

}  // namespace slipway::replay
