#include "validators/validator.hpp"

#include <cstdio>

#include <boost/json/monotonic_resource.hpp>

#include <simdjson.h>
#include <valijson/validator.hpp>

#include "validators/check_tree.hpp"
#include "validators/json_checks.hpp"
#include "validators/tool_call_checks.hpp"

namespace slipway::validators {

Validator::Validator(Limits limits, RefusalConfig refusal)
    : limits_(limits),
      cache_(limits.schema_cache_entries),
      shapes_(limits.schema_cache_entries),
      refusal_(std::move(refusal)),
      evaluator_(std::make_unique<valijson::Validator>(valijson::Validator::kStrongTypes)),
      fast_parser_(std::make_unique<simdjson::dom::parser>(kFastPathMaxBytes)) {
  // Shallower than parse_json_text's 256 levels, so whatever simdjson accepts Boost.JSON accepts too; deeper
  // documents take the valijson path, which reports the depth error.
  if (fast_parser_->allocate(64 * 1024, kFastPathMaxDepth) != simdjson::SUCCESS) fast_parser_.reset();
}

Validator::~Validator() = default;

std::variant<Expectations, RequestError> Validator::expectations(std::string_view request_json, JsonText text) {
  auto texts = scan_request_members(request_json, text);
  if (!texts) return parse_expectations(request_json, cache_, limits_);  // parsed whole: the error is worded there
  std::string key = ExpectationsCache::key_of(*texts);
  if (const Expectations* known = shapes_.find(key)) {
    if (auto per_request = members_object(*texts, is_per_request_member)) {
      Expectations x = *known;
      read_per_request_members(per_request->get_object(), x);
      return x;
    }
  }
  auto members = members_object(*texts);
  if (!members) return parse_expectations(request_json, cache_, limits_);
  auto result = parse_expectations(*members, cache_, limits_);
  if (auto* x = std::get_if<Expectations>(&result)) shapes_.insert(std::move(key), *x);
  return result;
}

std::variant<Expectations, RequestError> Validator::expectations_from(const boost::json::value& request) {
  return parse_expectations(request, cache_, limits_);
}

AssembledResponse Validator::assemble(std::string_view text) const {
  if (looks_like_sse(text)) return assemble_sse(text, limits_.max_assembled_bytes);
  return assemble_completion(text, limits_.max_assembled_bytes);
}

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string fence_hint(std::string_view content) {
  auto b = content.find_first_not_of(" \t\r\n");
  if (b != std::string_view::npos && content.substr(b, 3) == "```") return " [content is wrapped in a ``` fence]";
  return {};
}

std::string score_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

}  // namespace

FastVerdict Validator::structured_output_fast(const Expectations& x, std::string_view content, bool& container) {
  const CheckTree* tree = nullptr;
  if (x.response_format == ResponseFormatKind::json_schema) {
    if (!x.schema || !x.schema->tree) return FastVerdict::undecided;
    tree = x.schema->tree.get();
  } else if (x.response_format != ResponseFormatKind::json_object) {
    return FastVerdict::undecided;
  }
  if (!fast_parser_ || content.size() > kFastPathMaxBytes) return FastVerdict::undecided;
  auto parsed = fast_parser_->parse(content.data(), content.size(), true);
  if (parsed.error()) return FastVerdict::undecided;  // Boost.JSON re-parses it and words the error
  simdjson::dom::element root = parsed.value_unsafe();
  container = root.is_object() || root.is_array();
  if (!tree) return root.is_object() ? FastVerdict::valid : FastVerdict::undecided;
  return tree->check(root, strings_may_hold_nul(content));
}

void Validator::validate_choice(const Expectations& x, const AssembledChoice& c, bool too_large,
                                std::string_view prefix, Verdict& out) {
  std::string pre(prefix);
  const bool has_calls = !c.tool_calls.empty();
  const bool has_refusal_field = c.refusal_present && !blank(c.refusal);
  const bool has_content = c.content_present && !blank(c.content);

  if (c.finish_reason == "length") {
    out.truncated = true;
    std::string d = pre + "/finish_reason: \"length\"";
    if (x.max_tokens) d += " (max_tokens " + std::to_string(*x.max_tokens) + ")";
    out.add(FindingKind::truncated, d + " (truncated)", "/finish_reason", false);
  }

  // Structured output first: a content that parses as the JSON document asked for is not prose, so the text
  // refusal classifier is not run on it (the refusal field still counts).
  const bool json_mode = x.response_format != ResponseFormatKind::text;
  const bool check_json = json_mode && !too_large && !has_calls && !has_refusal_field && has_content;
  // Fast path first: when it proves the content valid, the Boost.JSON parse and valijson are skipped.
  bool container = false;
  const FastVerdict fast = check_json ? structured_output_fast(x, c.content, container) : FastVerdict::undecided;
  const bool proven = fast == FastVerdict::valid;
  unsigned char arena[16384];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  boost::json::value doc;
  std::string json_err;
  const bool parsed = proven || (check_json && parse_json_text(c.content, doc, json_err, &mr));
  if (!proven) container = parsed && (doc.is_object() || doc.is_array());

  RefusalResult rr = (parsed && container) ? refusal_.classify({}, c.refusal) : refusal_.classify(c.content, c.refusal);
  if (rr.refusal) {
    out.refusal = true;
    out.add(FindingKind::refusal,
            rr.from_field ? pre + "/refusal: the refusal field is set (refusal)"
                          : pre + "/content: refusal cue " + rr.reason + ", score " + score_text(rr.score) + " (refusal)",
            rr.from_field ? "/refusal" : "/content", false);
  }

  if (!has_content && !has_calls && !has_refusal_field) {
    out.empty = true;
    out.add(FindingKind::empty, pre + "/content: no content and no tool call (empty)", "/content");
  }

  if (!too_large) {
    check_tool_calls(x, c, *evaluator_, out, pre, fast_parser_.get());
    if (!has_calls && has_content) {
      std::string d;
      if (find_tool_call_in_content(x, c.content, d)) out.add(FindingKind::tool_call_in_content, pre + d, "/content");
    }
  } else {
    out.tool_calls += c.tool_calls.size();
  }

  // Structured output: checked when there is content to check (a refusal field or a tool call replaces it).
  if (!check_json || proven) return;
  if (!parsed) {
    out.add(FindingKind::json_invalid, pre + "/content: " + json_err + fence_hint(c.content) + " (json)", "/content");
    return;
  }
  if (x.response_format == ResponseFormatKind::json_object) {
    if (!doc.is_object())
      out.add(FindingKind::json_invalid,
              pre + "/content: must be a JSON object, got " + std::string(json_type_name(doc)) + " (json_object)", "/content");
    return;
  }
  if (!x.schema) return;
  std::vector<SchemaError> errors;
  if (!validate_against(*evaluator_, *x.schema, doc, errors, 16, fast == FastVerdict::invalid)) {
    for (auto& e : errors)
      out.add(FindingKind::schema_violation, pre + (e.pointer.empty() ? std::string("/") : e.pointer) + ": " + e.message,
              e.pointer);
  }
}

Verdict Validator::validate(const Expectations& x, const AssembledResponse& r) {
  Verdict out;
  if (!r.error.empty()) {
    if (r.upstream_error)
      out.add(FindingKind::empty, "/: no completion, " + r.error + " (empty)", "");
    else
      out.add(FindingKind::json_invalid, "/: " + r.error + " (response)", "");
    if (r.upstream_error) out.empty = true;
    return out;
  }
  if (r.too_large)
    out.add(FindingKind::assembled_too_large,
            "/: response larger than " + std::to_string(limits_.max_assembled_bytes) +
                " bytes; the rest was not kept and content/arguments were not checked (assembled_too_large)",
            "");
  if (r.choices.empty()) {
    out.empty = true;
    out.add(FindingKind::empty, "/choices: no choice in the response (empty)", "/choices");
    return out;
  }
  const bool many = r.choices.size() > 1;
  for (const auto& c : r.choices) {
    std::string prefix = many ? "choice " + std::to_string(c.index) + ": " : std::string();
    try {
      validate_choice(x, c, r.too_large, prefix, out);
    } catch (const std::exception& e) {
      out.add(FindingKind::json_invalid, prefix + "/: validation error: " + e.what(), "");
    }
  }
  return out;
}

}  // namespace slipway::validators
