#include "validators/stream_assembler.hpp"

#include <simdjson.h>

#include "validators/json_members.hpp"
#include "validators/json_util.hpp"

namespace slipway::validators {

using simdjson::dom::element;
using simdjson::dom::object;

StreamAssembler::StreamAssembler(size_t max_bytes) : max_bytes_(max_bytes) {}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

void StreamAssembler::on_event_data(std::string_view data) {
  data = trim(data);
  if (data.empty()) return;
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  ++events_;
  auto& parser = detail::thread_parser();
  element doc;
  object root;
  if (parser.parse(data.data(), data.size(), true).get(doc) || doc.get_object().get(root)) {
    ++bad_events_;
    return;
  }
  // Each object's members in one pass (a lookup by name scans the object again for every name: 16 % of a
  // 200-chunk stream's user-space instructions went to those scans and their strlen).
  enum { kError, kId, kModel, kObject, kUsage, kChoices };
  const JsonMembers<6> members(root, {"error", "id", "model", "object", "usage", "choices"});
  element e;
  if (members.get_non_null(kError, e)) {
    r_.upstream_error = true;
    std::string_view msg;
    r_.error = !e["message"].get_string().get(msg) ? "upstream error: " + std::string(msg)
                                                   : std::string("upstream error event");
    return;
  }
  std::string_view sv;
  if (r_.id.empty() && members.get(kId, e) && !e.get_string().get(sv)) r_.id = sv;
  if (r_.model.empty() && members.get(kModel, e) && !e.get_string().get(sv)) r_.model = sv;
  if (members.get(kObject, e) && !e.get_string().get(sv)) r_.is_chat = sv.rfind("chat.", 0) == 0;
  if (members.get(kUsage, e) && e.is_object()) {
    object u = e.get_object().value_unsafe();
    r_.usage.present = true;
    int64_t v;
    if (!u["prompt_tokens"].get_int64().get(v)) r_.usage.prompt_tokens = v;
    if (!u["completion_tokens"].get_int64().get(v)) r_.usage.completion_tokens = v;
    if (!u["total_tokens"].get_int64().get(v)) r_.usage.total_tokens = v;
  }
  simdjson::dom::array choices;
  if (!members.get(kChoices, e) || e.get_array().get(choices)) return;
  detail::ByteBudget budget{max_bytes_, r_.assembled_bytes, r_.too_large};
  size_t pos = 0;
  for (element ch : choices) {
    object co;
    if (ch.get_object().get(co)) continue;
    enum { kIndex, kFinishReason, kDelta, kText };
    const JsonMembers<4> choice(co, {"index", "finish_reason", "delta", "text"});
    int64_t idx = static_cast<int64_t>(pos++);
    if (!choice.get(kIndex, e) || e.get_int64().get(idx)) idx = static_cast<int64_t>(pos) - 1;
    if (idx < 0 || (r_.choices.size() >= kMaxChoices && !r_.has_choice(static_cast<size_t>(idx)))) continue;
    AssembledChoice& c = r_.choice(static_cast<size_t>(idx));
    if (choice.get(kFinishReason, e) && !e.get_string().get(sv) && !sv.empty()) c.finish_reason = sv;
    object delta_object;
    if (choice.get(kDelta, e) && !e.get_object().get(delta_object)) {
      r_.is_chat = true;
      enum { kContent, kRefusal, kReasoning, kToolCalls };
      const JsonMembers<4> delta(delta_object, {"content", "refusal", "reasoning_content", "tool_calls"});
      if (delta.get(kContent, e) && !e.get_string().get(sv)) {
        c.content_present = true;
        budget.append(c.content, sv);
      }
      if (delta.get(kRefusal, e) && !e.get_string().get(sv)) {
        c.refusal_present = true;
        budget.append(c.refusal, sv);
      }
      if (delta.get(kReasoning, e) && !e.get_string().get(sv)) c.reasoning_content.append(sv);
      simdjson::dom::array calls;
      if (delta.get(kToolCalls, e) && !e.get_array().get(calls)) {
        size_t seq = 0;
        for (element call : calls) {
          object co2;
          if (call.get_object().get(co2)) continue;
          int64_t ti = -1;
          if (co2["index"].get_int64().get(ti) || ti < 0) {
            // No index: a new call when it carries an id different from the last one, else the last.
            std::string_view id;
            bool has_id = !co2["id"].get_string().get(id);
            if (c.tool_calls.empty() || (has_id && c.tool_calls.back().id != id))
              ti = static_cast<int64_t>(c.tool_calls.size());
            else
              ti = static_cast<int64_t>(c.tool_calls.size()) - 1;
          }
          ++seq;
          if (static_cast<size_t>(ti) >= c.tool_calls.size()) {
            if (static_cast<size_t>(ti) > 1024) continue;  // absurd index: ignore
            c.tool_calls.resize(static_cast<size_t>(ti) + 1);
          }
          ToolCall& tc = c.tool_calls[static_cast<size_t>(ti)];
          // id, type and name: first fragment wins; repeats are tolerated.
          if (tc.id.empty() && !co2["id"].get_string().get(sv)) tc.id = sv;
          if (tc.type.empty() && !co2["type"].get_string().get(sv)) tc.type = sv;
          object fn;
          if (!co2["function"].get_object().get(fn)) {
            if (!fn["name"].get_string().get(sv) && !sv.empty()) {
              if (tc.name.empty()) tc.name = sv;
              else if (tc.name != sv && !(sv.size() < tc.name.size() && tc.name.rfind(sv, 0) == 0))
                tc.name.append(sv);  // some servers stream the name in pieces
            }
            element a;
            if (!fn["arguments"].get(a)) {
              if (!a.get_string().get(sv)) {
                tc.arguments_present = true;
                budget.append(tc.arguments, sv);
              } else if (a.is_object()) {
                tc.arguments_present = true;
                budget.append(tc.arguments, simdjson::minify(a));
              }
            }
          }
        }
        (void)seq;
      }
    } else if (choice.get(kText, e) && !e.get_string().get(sv)) {
      r_.is_chat = false;
      c.content_present = true;
      budget.append(c.content, sv);
    }
  }
  r_.assembled_bytes = budget.used;
  r_.too_large = budget.exceeded;
}

void StreamAssembler::flush_sse_event() {
  if (data_seen_) on_event_data(data_buf_);
  data_buf_.clear();
  data_seen_ = false;
}

void StreamAssembler::on_bytes(std::string_view bytes) {
  for (char ch : bytes) {
    if (ch != '\n') {
      if (line_buf_.size() < max_bytes_ + 4096) line_buf_.push_back(ch);
      continue;
    }
    std::string_view line = line_buf_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush_sse_event();
    } else if (line.rfind("data:", 0) == 0) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (data_buf_.size() < max_bytes_ + 4096) {  // bounded even for an event that never ends
        if (data_seen_) data_buf_.push_back('\n');
        data_buf_.append(line);
      }
      data_seen_ = true;
    }  // event:, id:, retry: and comments are ignored
    line_buf_.clear();
  }
}

AssembledResponse StreamAssembler::finish() {
  if (!line_buf_.empty()) on_bytes("\n");
  flush_sse_event();
  AssembledResponse out = std::move(r_);
  r_ = AssembledResponse{};
  if (events_ == 0 && out.error.empty()) out.error = "stream carried no completion chunk";
  return out;
}

AssembledResponse assemble_sse(std::string_view sse, size_t max_bytes) {
  StreamAssembler a(max_bytes);
  a.on_bytes(sse);
  return a.finish();
}

bool looks_like_sse(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
  text.remove_prefix(i);
  return text.rfind("data:", 0) == 0 || text.rfind("event:", 0) == 0 || text.rfind(":", 0) == 0;
}

}  // namespace slipway::validators
