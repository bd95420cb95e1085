#include "validators/assembled_response.hpp"

#include <algorithm>

#include <simdjson.h>

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
  element e;
  if (!root["error"].get(e) && !e.is_null()) {
    r.upstream_error = true;
    std::string_view msg;
    if (!e["message"].get_string().get(msg))
      r.error = "upstream error: " + std::string(msg);
    else
      r.error = "upstream error object";
    return r;
  }
  std::string_view sv;
  if (!root["object"].get_string().get(sv)) {
    if (sv == "error") {
      r.upstream_error = true;
      r.error = "upstream error object";
      return r;
    }
    r.is_chat = sv.rfind("chat.", 0) == 0;
  }
  if (!root["id"].get_string().get(sv)) r.id = sv;
  if (!root["model"].get_string().get(sv)) r.model = sv;
  if (!root["usage"].get(e)) read_usage(e, r.usage);

  simdjson::dom::array choices;
  if (root["choices"].get_array().get(choices)) {
    r.error = "response has no choices array";
    return r;
  }
  detail::ByteBudget budget{max_bytes, 0, false};
  size_t pos = 0;
  for (element ch : choices) {
    object co;
    if (ch.get_object().get(co)) continue;
    int64_t idx = static_cast<int64_t>(pos);
    if (co["index"].get_int64().get(idx)) idx = static_cast<int64_t>(pos);
    ++pos;
    if (idx < 0) idx = static_cast<int64_t>(pos - 1);
    if (r.choices.size() >= kMaxChoices && !r.has_choice(static_cast<size_t>(idx))) continue;
    AssembledChoice& c = r.choice(static_cast<size_t>(idx));
    if (!co["finish_reason"].get_string().get(sv)) c.finish_reason = sv;
    object msg;
    if (!co["message"].get_object().get(msg)) {
      r.is_chat = true;
      simdjson::dom::array parts;
      if (!msg["content"].get_string().get(sv)) {
        c.content_present = true;
        budget.append(c.content, sv);
      } else if (!msg["content"].get_array().get(parts)) {
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
      if (!msg["refusal"].get_string().get(sv)) {
        c.refusal_present = true;
        budget.append(c.refusal, sv);
      }
      if (!msg["reasoning_content"].get_string().get(sv)) c.reasoning_content = sv;
      simdjson::dom::array calls;
      if (!msg["tool_calls"].get_array().get(calls)) {
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
    } else if (!co["text"].get_string().get(sv)) {
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
