#include "gateway/shadow_compare.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

namespace slipway::shadow {

namespace json = boost::json;

std::string_view to_string(Aspect a) {
  switch (a) {
    case Aspect::validity: return "validity";
    case Aspect::tool_choice: return "tool_choice";
    case Aspect::tool_arguments: return "tool_arguments";
    case Aspect::json_content: return "json_content";
    case Aspect::refusal: return "refusal";
  }
  return "unknown";
}

std::string_view to_string(Validity v) {
  switch (v) {
    case Validity::both_valid: return "both_valid";
    case Validity::only_baseline_valid: return "only_baseline_valid";
    case Validity::only_canary_valid: return "only_canary_valid";
    case Validity::both_invalid: return "both_invalid";
  }
  return "unknown";
}

bool Comparison::any_disagreement() const {
  return std::any_of(agree.begin(), agree.end(), [](const std::optional<bool>& a) { return a && !*a; });
}

namespace {

bool numbers_equal(const json::value& a, const json::value& b) {
  // Exact for two integers (int64 and uint64 alike); by value otherwise, so 1 == 1.0 == 1e0.
  if (!a.is_double() && !b.is_double()) {
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const json::value& s = a.is_int64() ? a : b;  // one int64, one uint64
    const json::value& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && static_cast<uint64_t>(s.get_int64()) == u.get_uint64();
  }
  return a.to_number<double>() == b.to_number<double>();
}

const validators::AssembledChoice* first_choice(const validators::AssembledResponse& r) { return r.first(); }

std::vector<std::string_view> tool_names(const validators::AssembledChoice* c) {
  std::vector<std::string_view> names;
  if (c)
    for (const auto& t : c->tool_calls) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  return names;
}

// Every baseline call has a canary call of the same name and equivalent arguments, one to one, in any
// order (parallel calls may come in any order).
bool same_arguments(const validators::AssembledChoice& b, const validators::AssembledChoice& c) {
  if (b.tool_calls.size() != c.tool_calls.size()) return false;
  std::vector<bool> used(c.tool_calls.size(), false);
  for (const auto& bt : b.tool_calls) {
    bool found = false;
    for (std::size_t i = 0; i < c.tool_calls.size() && !found; ++i) {
      if (used[i] || c.tool_calls[i].name != bt.name) continue;
      const auto& ct = c.tool_calls[i];
      const bool equal = (!bt.arguments_present && !ct.arguments_present) ||
                         (bt.arguments_present && ct.arguments_present && json_text_equivalent(bt.arguments, ct.arguments));
      if (equal) used[i] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

bool json_equivalent(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return numbers_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null: return true;
    case json::kind::bool_: return a.get_bool() == b.get_bool();
    case json::kind::string: return a.get_string() == b.get_string();
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!json_equivalent(x[i], y[i])) return false;
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x) {
        const json::value* other = y.if_contains(key);
        if (!other || !json_equivalent(value, *other)) return false;
      }
      return true;
    }
    default: return false;  // numbers were handled above
  }
}

bool json_text_equivalent(std::string_view a, std::string_view b) {
  boost::system::error_code ea, eb;
  json::value va = json::parse(a, ea);
  json::value vb = json::parse(b, eb);
  if (ea || eb) return ea && eb && a == b;
  return json_equivalent(va, vb);
}

Comparison compare_answers(const validators::Expectations& request, Side baseline, Side canary) {
  Comparison out;
  auto set = [&](Aspect a, bool agree) { out.agree[static_cast<std::size_t>(a)] = agree; };

  const bool b_ok = baseline.verdict.ok();
  const bool c_ok = canary.verdict.ok();
  out.validity = b_ok && c_ok ? Validity::both_valid
                 : b_ok       ? Validity::only_baseline_valid
                 : c_ok       ? Validity::only_canary_valid
                              : Validity::both_invalid;
  set(Aspect::validity, b_ok == c_ok);
  set(Aspect::refusal, baseline.verdict.refusal == canary.verdict.refusal);

  const auto* b = first_choice(baseline.answer);
  const auto* c = first_choice(canary.answer);
  if (request.tools_offered()) {
    const auto bn = tool_names(b);
    const auto cn = tool_names(c);
    set(Aspect::tool_choice, bn == cn);
    // Arguments are only comparable when the same tools were chosen (a different choice is already counted).
    if (bn == cn && !bn.empty()) set(Aspect::tool_arguments, same_arguments(*b, *c));
  }
  if (request.response_format != validators::ResponseFormatKind::text) {
    const std::string_view bc = b ? std::string_view(b->content) : std::string_view{};
    const std::string_view cc = c ? std::string_view(c->content) : std::string_view{};
    set(Aspect::json_content, json_text_equivalent(bc, cc));
  }

  const auto& bu = baseline.answer.usage;
  const auto& cu = canary.answer.usage;
  if (bu.present && cu.present && bu.completion_tokens > 0)
    out.length_ratio = static_cast<double>(cu.completion_tokens) / static_cast<double>(bu.completion_tokens);
  return out;
}

}  // namespace slipway::shadow
