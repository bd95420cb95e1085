#include "validators/tool_call_checks.hpp"

#include <array>
#include <vector>

#include <boost/json/parser.hpp>
#include <simdjson.h>

#include "validators/check_tree.hpp"
#include "validators/json_checks.hpp"

namespace slipway::validators {

namespace bj = boost::json;

namespace {

// The fast path: arguments that parse (simdjson) as an object, checked on the tree. `valid` is final.
FastVerdict arguments_fast(simdjson::dom::parser* parser, const ToolSpec& spec, std::string_view args) {
  if (!parser || !spec.parameters || !spec.parameters->tree || args.size() > kFastPathMaxBytes)
    return FastVerdict::undecided;
  auto parsed = parser->parse(args.data(), args.size(), true);
  if (parsed.error()) return FastVerdict::undecided;
  simdjson::dom::element root = parsed.value_unsafe();
  if (!root.is_object()) return FastVerdict::undecided;
  return spec.parameters->tree->check(root, strings_may_hold_nul(args));
}

}  // namespace

void check_tool_calls(const Expectations& x, const AssembledChoice& c, valijson::Validator& v, Verdict& out,
                      std::string_view prefix, simdjson::dom::parser* fast_parser) {
  const size_t n = c.tool_calls.size();
  out.tool_calls += n;
  std::string pre(prefix);

  if (n > 0 && x.tools.empty()) {
    out.add(FindingKind::tool_unknown_function,
            pre + "/tool_calls: " + std::to_string(n) + " tool call(s) but the request declared no tools (tools)",
            "/tool_calls");
  } else if (n > 0 && x.tool_choice == ToolChoiceKind::none) {
    out.add(FindingKind::tool_choice_violated,
            pre + "/tool_calls: tool_choice is \"none\" but the response has " + std::to_string(n) +
                " tool call(s) (tool_choice)",
            "/tool_calls");
  }
  if (n == 0 && x.tool_choice == ToolChoiceKind::required) {
    out.add(FindingKind::tool_choice_violated, pre + "/tool_calls: tool_choice is \"required\" but no tool was called (tool_choice)",
            "/tool_calls");
  }
  if (n == 0 && x.tool_choice == ToolChoiceKind::named) {
    out.add(FindingKind::tool_choice_violated,
            pre + "/tool_calls: tool_choice names \"" + x.tool_choice_name + "\" but no tool was called (tool_choice)",
            "/tool_calls");
  }
  if (n > 1 && !x.parallel_tool_calls) {
    out.add(FindingKind::tool_choice_violated,
            pre + "/tool_calls: parallel_tool_calls is false but the response has " + std::to_string(n) +
                " tool calls (parallel_tool_calls)",
            "/tool_calls");
  }

  for (size_t i = 0; i < n; ++i) {
    const ToolCall& tc = c.tool_calls[i];
    std::string base = "/tool_calls/" + std::to_string(i);
    std::string who = pre + "tool_calls[" + std::to_string(i) + "] " + (tc.name.empty() ? "<no name>" : tc.name);
    bool valid = true;
    if (x.tool_choice == ToolChoiceKind::named && tc.name != x.tool_choice_name) {
      out.add(FindingKind::tool_choice_violated,
              who + ": tool_choice names \"" + x.tool_choice_name + "\" (tool_choice)", base + "/function/name");
      valid = false;
    }
    const ToolSpec* spec = x.find_tool(tc.name);
    if (!spec) {
      if (!x.tools.empty())
        out.add(FindingKind::tool_unknown_function,
                who + ": function \"" + tc.name + "\" is not declared in tools (name)", base + "/function/name");
      continue;  // nothing to check the arguments against
    }
    // Empty or missing arguments are treated as {} (the usual streaming-parser failure): a schema with
    // required properties then reports them missing.
    std::string_view args = tc.arguments;
    size_t b = args.find_first_not_of(" \t\r\n");
    bool empty_args = !tc.arguments_present || b == std::string_view::npos;
    const FastVerdict fast = empty_args ? FastVerdict::undecided : arguments_fast(fast_parser, *spec, args);
    if (fast == FastVerdict::valid) {
      if (valid) ++out.tool_calls_valid;
      continue;
    }
    bj::value doc;
    if (empty_args) {
      doc = bj::object();
    } else {
      std::string err;
      if (!parse_json_text(args, doc, err)) {
        out.add(FindingKind::tool_args_invalid_json, who + ": arguments are " + err, base + "/function/arguments");
        continue;
      }
      if (!doc.is_object()) {
        out.add(FindingKind::tool_args_invalid_json,
                who + ": arguments must be a JSON object, got " + std::string(json_type_name(doc)),
                base + "/function/arguments");
        continue;
      }
    }
    if (spec->parameters) {
      std::vector<SchemaError> errors;
      if (!validate_against(v, *spec->parameters, doc, errors, 16, fast == FastVerdict::invalid)) {
        for (const auto& e : errors)
          out.add(FindingKind::tool_args_schema_violation,
                  who + ": " + (e.pointer.empty() ? std::string("/") : e.pointer) + ": " + e.message +
                      (empty_args ? " [arguments were empty, checked as {}]" : ""),
                  e.pointer);
        valid = false;
      }
    }
    if (valid) ++out.tool_calls_valid;
  }
}

namespace {

// Markup models use for tool calls; seeing one in plain content means the call leaked into the text.
constexpr std::array<std::string_view, 10> kMarkers = {
    "<tool_call>", "<|tool_call|>", "[TOOL_CALLS]", "<|python_tag|>", "<function=", "<tool_calls>",
    "<|tool_calls_section_begin|>", "<｜tool▁call▁begin｜>",
    "<function_call>", "✿FUNCTION✿",
};

const bj::value* get(const bj::object& o, std::string_view k) { return o.if_contains(k); }

// {"name": declared, "arguments"|"parameters": ...} or {"function": {...}} / {"tool_calls": [...]}
const ToolSpec* matches_call(const Expectations& x, const bj::value& v, int depth = 0) {
  if (depth > 3) return nullptr;
  if (v.is_array()) {
    for (const auto& e : v.get_array())
      if (auto* s = matches_call(x, e, depth + 1)) return s;
    return nullptr;
  }
  if (!v.is_object()) return nullptr;
  const bj::object& o = v.get_object();
  if (auto* n = get(o, "name"); n && n->is_string()) {
    if (get(o, "arguments") || get(o, "parameters") || get(o, "args") || get(o, "input"))
      if (const ToolSpec* s = x.find_tool(std::string_view(n->get_string()))) return s;
  }
  if (auto* f = get(o, "function"))
    if (auto* s = matches_call(x, *f, depth + 1)) return s;
  if (auto* t = get(o, "tool_calls"))
    if (auto* s = matches_call(x, *t, depth + 1)) return s;
  return nullptr;
}

}  // namespace

bool find_tool_call_in_content(const Expectations& x, std::string_view content, std::string& detail) {
  if (!x.tools_offered() || content.empty()) return false;
  for (auto m : kMarkers) {
    if (auto p = content.find(m); p != std::string_view::npos) {
      detail = "/content: tool-call markup \"" + std::string(m) + "\" at byte " + std::to_string(p) +
               " in the text and no tool_calls (tool_call_in_content)";
      return true;
    }
  }
  if (content.find("\"name\"") == std::string_view::npos) return false;
  // Try each '{' (bounded) as the start of a JSON value; write_some stops at the end of the value.
  int tries = 0;
  for (size_t p = content.find('{'); p != std::string_view::npos && tries < 64; p = content.find('{', p + 1)) {
    ++tries;
    bj::parser parser;
    bj::error_code ec;
    std::string_view rest = content.substr(p);
    size_t used = parser.write_some(rest.data(), rest.size(), ec);
    if (ec) continue;
    bj::value v = parser.release();
    if (const ToolSpec* s = matches_call(x, v)) {
      detail = "/content: a call of declared function \"" + s->name + "\" written as JSON text at byte " +
               std::to_string(p) + " and no tool_calls (tool_call_in_content)";
      return true;
    }
    p += used > 0 ? used - 1 : 0;
  }
  return false;
}

}  // namespace slipway::validators
