#include "validators/assembled_response.hpp"

#include <algorithm>
#include <array>

#include <simdjson.h>

#include "validators/json_members.hpp"
#include "validators/json_util.hpp"

namespace slipway::validators {

bool AssembledResponse::has_choice(size_t index) const {
  auto it = std::lower_bound(choices.begin(), choices.end(), index,
                             [](const AssembledChoice& c, size_t i) { return c.index < i; });
  return it != choices.end() && it->index == index;
}

AssembledChoice& AssembledResponse::choice(size_t index) {
  auto it = std::lower_bound(choices.begin(), choices.end(), index,
                             [](const AssembledChoice& c, size_t i) { return c.index < i; });
  if (it != choices.end() && it->index == index) return *it;
  it = choices.insert(it, AssembledChoice{});
  it->index = index;
  return *it;
}

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

void read_usage(element usage, Usage& out) {
  object o;
  if (usage.get_object().get(o)) return;
  out.present = true;
  int64_t v;
  if (!o["prompt_tokens"].get_int64().get(v)) out.prompt_tokens = v;
  if (!o["completion_tokens"].get_int64().get(v)) out.completion_tokens = v;
  if (!o["total_tokens"].get_int64().get(v)) out.total_tokens = v;
}

}  // namespace

AssembledResponse assemble_completion(std::string_view body, size_t max_bytes) {
  AssembledResponse r;
  auto& parser = detail::thread_parser();
  element doc;
  if (auto err = parser.parse(body.data(), body.size(), true).get(doc)) {
    r.error = std::string("response body is not JSON: ") + simdjson::error_message(err);
    return r;
  }
  object root;
  if (doc.get_object().get(root)) {
    r.error = "response body is not a JSON object";
    return r;
  }
  enum : std::size_t { kError, kObject, kId, kModel, kUsage, kChoices, kRootCount };
  static constexpr std::array<std::string_view, kRootCount> kRootNames{"error", "object", "id", "model", "usage", "choices"};
  const JsonMembers<kRootCount> top(root, kRootNames);
  element e;
  if (top.get_non_null(kError, e)) {
    r.upstream_error = true;
    std::string_view msg;
    if (!e["message"].get_string().get(msg))
      r.error = "upstream error: " + std::string(msg);
    else
      r.error = "upstream error object";
    return r;
  }
  std::string_view sv;
  if (top.get(kObject, e) && !e.get_string().get(sv)) {
    if (sv == "error") {
      r.upstream_error = true;
      r.error = "upstream error object";
      return r;
    }
    r.is_chat = sv.rfind("chat.", 0) == 0;
  }
  if (top.get(kId, e) && !e.get_string().get(sv)) r.id = sv;
  if (top.get(kModel, e) && !e.get_string().get(sv)) r.model = sv;
  if (top.get(kUsage, e)) read_usage(e, r.usage);

  simdjson::dom::array choices;
  if (!top.get(kChoices, e) || e.get_array().get(choices)) {
    r.error = "response has no choices array";
    return r;
  }
  detail::ByteBudget budget{max_bytes, 0, false};
  size_t pos = 0;
  for (element ch : choices) {
    object co;
    if (ch.get_object().get(co)) continue;
    enum : std::size_t { kIndex, kFinishReason, kMessage, kText, kChoiceCount };
    static constexpr std::array<std::string_view, kChoiceCount> kChoiceNames{"index", "finish_reason", "message", "text"};
    const JsonMembers<kChoiceCount> cm(co, kChoiceNames);
    int64_t idx = static_cast<int64_t>(pos);
    if (!cm.get(kIndex, e) || e.get_int64().get(idx)) idx = static_cast<int64_t>(pos);
    ++pos;
    if (idx < 0) idx = static_cast<int64_t>(pos - 1);
    if (r.choices.size() >= kMaxChoices && !r.has_choice(static_cast<size_t>(idx))) continue;
    AssembledChoice& c = r.choice(static_cast<size_t>(idx));
    if (cm.get(kFinishReason, e) && !e.get_string().get(sv)) c.finish_reason = sv;
    object msg;
    if (cm.get(kMessage, e) && !e.get_object().get(msg)) {
      r.is_chat = true;
      enum : std::size_t { kContent, kRefusal, kReasoning, kToolCalls, kMessageCount };
      static constexpr std::array<std::string_view, kMessageCount> kMessageNames{"content", "refusal", "reasoning_content",
                                                                                 "tool_calls"};
      const JsonMembers<kMessageCount> mm(msg, kMessageNames);
      simdjson::dom::array parts;
      element content;
      const bool has_content = mm.get(kContent, content);
      if (has_content && !content.get_string().get(sv)) {
        c.content_present = true;
        budget.append(c.content, sv);
      } else if (has_content && !content.get_array().get(parts)) {
        // Content parts ([{"type":"text","text":..}, {"type":"refusal","refusal":..}]).
        for (element part : parts) {
          std::string_view type, text;
          if (part["type"].get_string().get(type)) continue;
          if ((type == "text" || type == "output_text") && !part["text"].get_string().get(text)) {
            c.content_present = true;
            budget.append(c.content, text);
          } else if (type == "refusal" && !part["refusal"].get_string().get(text)) {
            c.refusal_present = true;
            budget.append(c.refusal, text);
          }
        }
      }
      if (mm.get(kRefusal, e) && !e.get_string().get(sv)) {
        c.refusal_present = true;
        budget.append(c.refusal, sv);
      }
      if (mm.get(kReasoning, e) && !e.get_string().get(sv)) c.reasoning_content = sv;
      simdjson::dom::array calls;
      if (mm.get(kToolCalls, e) && !e.get_array().get(calls)) {
        for (element call : calls) {
          ToolCall tc;
          if (!call["id"].get_string().get(sv)) tc.id = sv;
          if (!call["type"].get_string().get(sv)) tc.type = sv;
          object fn;
          if (!call["function"].get_object().get(fn)) {
            if (!fn["name"].get_string().get(sv)) tc.name = sv;
            element a;
            if (!fn["arguments"].get(a)) {
              if (!a.get_string().get(sv)) {
                tc.arguments_present = true;
                budget.append(tc.arguments, sv);
              } else if (a.is_object()) {
                // Some servers send arguments as an object rather than a string: keep its text.
                tc.arguments_present = true;
                budget.append(tc.arguments, simdjson::minify(a));
              }
            }
          }
          c.tool_calls.push_back(std::move(tc));
        }
      }
    } else if (cm.get(kText, e) && !e.get_string().get(sv)) {
      r.is_chat = false;
      c.content_present = true;
      budget.append(c.content, sv);
    }
  }
  r.assembled_bytes = budget.used;
  r.too_large = budget.exceeded;
  return r;
}

}  // namespace slipway::validators
