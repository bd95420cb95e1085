#include "tools/replay/evaluate.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <boost/json/parse.hpp>

#include "validators/validator.hpp"

namespace slipway::replay {

namespace sv = slipway::validators;

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool strip_pair(std::string_view& s, std::string_view open, std::string_view close) {
  if (s.size() >= open.size() + close.size() && s.substr(0, open.size()) == open &&
      s.substr(s.size() - close.size()) == close) {
    s = trim(s.substr(open.size(), s.size() - open.size() - close.size()));
    return true;
  }
  return false;
}

// A plain decimal number, the whole string ("-12", "3.5"); fills `value`.
bool whole_number(std::string_view s, double& value) {
  if (s.empty() || s.size() > 64) return false;
  std::string tmp(s);
  char* end = nullptr;
  value = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size()) return false;
  for (char c : tmp)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.')) return false;
  return std::isfinite(value);
}

// The last decimal number in already-normalized text ("1024", "-3.5"), if any.
bool last_number(std::string_view s, double& value) {
  size_t i = s.size();
  while (i > 0) {
    --i;
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) continue;
    size_t end = i + 1;
    size_t begin = i;
    while (begin > 0 && (std::isdigit(static_cast<unsigned char>(s[begin - 1])) || s[begin - 1] == '.')) --begin;
    if (begin > 0 && s[begin - 1] == '-') --begin;
    std::string_view tok = s.substr(begin, end - begin);
    while (!tok.empty() && tok.front() == '.') tok.remove_prefix(1);
    return whole_number(tok, value);
  }
  return false;
}

std::string join_findings(const sv::Verdict& v) {
  std::string out;
  for (const auto& f : v.findings) {
    if (!f.failing) continue;
    if (!out.empty()) out += "; ";
    out += f.detail;
    if (out.size() > 600) {
      out += " ...";
      break;
    }
  }
  return out;
}

}  // namespace

std::string normalize_answer(std::string_view in) {
  std::string_view s = trim(in);
  // Markup a model wraps a short answer in.
  for (bool again = true; again;) {
    again = strip_pair(s, "**", "**") || strip_pair(s, "`", "`") || strip_pair(s, "\"", "\"") ||
            strip_pair(s, "'", "'") || strip_pair(s, "$", "$");
  }
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (c == ',' && !out.empty() && std::isdigit(static_cast<unsigned char>(out.back())) && i + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i + 1])) && !space)
      continue;
    if (space) out.push_back(' '), space = false;
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool normalized_answer_matches(std::string_view content, std::string_view expected) {
  const std::string got = normalize_answer(content);
  const std::string want = normalize_answer(expected);
  if (got == want) return true;
  double want_value = 0, got_value = 0;
  if (!whole_number(want, want_value) || !last_number(got, got_value)) return false;
  return std::fabs(got_value - want_value) <= 1e-9 * std::max(1.0, std::fabs(want_value));
}

SideOutcome evaluate(const GoldenCase& c, const HttpReply& reply, sv::Validator& validator) {
  SideOutcome out;
  out.responded = reply.responded;
  out.connect_failed = reply.connect_failed;
  out.status = reply.status;
  const Expect& e = c.expect;
  auto set = [&](Property p, bool ok, std::string why = {}) {
    out.pass[static_cast<size_t>(p)] = ok;
    if (!ok) out.why[static_cast<size_t>(p)] = std::move(why);
  };
  auto fail_all = [&](const std::string& why) {
    for (Property p : kAllProperties)
      if (e.checks(p)) set(p, false, why);
  };

  if (!reply.responded) {
    out.error = reply.error;
    fail_all("no HTTP response (" + reply.error + ")");
    return out;
  }
  if (reply.status != 200) {
    out.error = "HTTP " + std::to_string(reply.status);
    fail_all(out.error);
    return out;
  }

  auto x = validator.expectations_from(boost::json::value(c.request));
  if (auto* re = std::get_if<sv::RequestError>(&x)) {  // checked when loading; only a changed limit gets here
    out.error = "request rejected by the validators: " + re->message;
    fail_all(out.error);
    return out;
  }
  const sv::Expectations& ex = std::get<sv::Expectations>(x);
  const sv::AssembledResponse r = validator.assemble(reply.body);
  const sv::Verdict verdict = validator.validate(ex, r);
  out.findings = join_findings(verdict);
  if (r.usage.present) out.completion_tokens = r.usage.completion_tokens;

  const sv::AssembledChoice* choice = r.error.empty() ? r.first() : nullptr;
  const std::string content = choice && choice->content_present ? choice->content : std::string();
  const bool has_calls = choice && !choice->tool_calls.empty();

  set(Property::valid, r.error.empty() && verdict.ok(),
      r.error.empty() ? "validators: " + out.findings : "not a completion: " + r.error);

  boost::json::error_code ec;
  bool parsed = false;
  if (!blank(content)) {
    boost::json::parse(content, ec);
    parsed = !ec;
  }
  if (e.valid_json)
    set(Property::valid_json, parsed,
        blank(content) ? (has_calls ? "a tool call, no content" : "no content") : "content is not JSON: " + ec.message());
  if (e.schema_valid) {
    const bool ok = parsed && !has_calls && !verdict.has(sv::FindingKind::json_invalid) &&
                    !verdict.has(sv::FindingKind::schema_violation);
    set(Property::schema_valid, ok, !parsed ? "content is not JSON" : has_calls ? "a tool call instead of content"
                                                                               : "schema: " + out.findings);
  }
  if (e.tool) {
    bool named = false;
    if (choice)
      for (const auto& call : choice->tool_calls) named = named || call.name == *e.tool;
    std::string why = "no tool call";
    if (has_calls) why = "called " + choice->tool_calls.front().name;
    else if (verdict.has(sv::FindingKind::tool_call_in_content)) why = "the tool call is in the content";
    set(Property::tool, named, why);
  }
  if (e.tool_args_valid) {
    const bool ok = verdict.tool_calls > 0 && verdict.tool_calls_valid == verdict.tool_calls &&
                    !verdict.has(sv::FindingKind::tool_args_invalid_json) &&
                    !verdict.has(sv::FindingKind::tool_args_schema_violation) &&
                    !verdict.has(sv::FindingKind::tool_unknown_function);
    set(Property::tool_args_valid, ok, verdict.tool_calls == 0 ? "no tool call" : "tool call: " + out.findings);
  }
  if (e.refuse)
    set(Property::refuse, verdict.refusal == *e.refuse, verdict.refusal ? "refused" : "did not refuse");
  if (e.citation)
    set(Property::citation, RE2::PartialMatch(content, *e.citation_re), "no match for " + *e.citation);
  if (e.has_length_bounds()) {
    std::string why;
    const auto chars = static_cast<int64_t>(utf8_length(content));
    if ((e.min_tokens || e.max_tokens) && !out.completion_tokens) why = "no usage.completion_tokens";
    else if (e.min_tokens && *out.completion_tokens < *e.min_tokens)
      why = std::to_string(*out.completion_tokens) + " tokens < min " + std::to_string(*e.min_tokens);
    else if (e.max_tokens && *out.completion_tokens > *e.max_tokens)
      why = std::to_string(*out.completion_tokens) + " tokens > max " + std::to_string(*e.max_tokens);
    else if (e.min_chars && chars < *e.min_chars)
      why = std::to_string(chars) + " chars < min " + std::to_string(*e.min_chars);
    else if (e.max_chars && chars > *e.max_chars)
      why = std::to_string(chars) + " chars > max " + std::to_string(*e.max_chars);
    set(Property::length, why.empty(), why);
  }
  if (e.answer) set(Property::answer, trim(content) == trim(*e.answer), "answered \"" + content.substr(0, 80) + "\"");
  if (e.answer_normalized)
    set(Property::answer_normalized, normalized_answer_matches(content, *e.answer_normalized),
        "answered \"" + content.substr(0, 80) + "\"");
  return out;
}

}  // namespace slipway::replay
