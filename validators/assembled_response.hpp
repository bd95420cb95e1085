// A response as the validators see it: content, tool calls, refusal, finish_reason and usage per choice,
// whether it came whole (assemble_completion) or in SSE chunks (StreamAssembler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::validators {

// Choices kept per response (n > kMaxChoices is ignored beyond the first kMaxChoices indexes seen).
inline constexpr size_t kMaxChoices = 128;

struct ToolCall {
  std::string id;
  std::string type;        // "function"
  std::string name;
  std::string arguments;   // the JSON text as the model wrote it (may be invalid)
  bool arguments_present = false;  // false when arguments was absent or null
};

struct AssembledChoice {
  size_t index = 0;
  std::string content;           // message.content / delta.content concatenated / text (completions)
  bool content_present = false;  // content was a string (possibly "") rather than null/absent
  std::string refusal;           // message.refusal / refusal deltas
  bool refusal_present = false;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;     // "" when the stream ended without one
};

struct Usage {
  bool present = false;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
};

struct AssembledResponse {
  bool is_chat = true;          // chat.completion(.chunk) vs text_completion
  std::string id;
  std::string model;
  std::vector<AssembledChoice> choices;  // sorted by index; choice 0 first
  Usage usage;
  size_t assembled_bytes = 0;   // content + refusal + tool-call arguments kept
  bool too_large = false;       // past Limits::max_assembled_bytes: the rest was dropped
  std::string error;            // body not a completion (not JSON, or an error object): why
  bool upstream_error = false;  // an {"error": ...} object (mid-stream or whole body)

  const AssembledChoice* first() const { return choices.empty() ? nullptr : &choices.front(); }
  AssembledChoice& choice(size_t index);  // finds or creates (kept sorted)
  bool has_choice(size_t index) const;
};

// Parses a chat.completion or text_completion body. Never throws; on bad input `error` is set.
// Bytes past max_bytes are dropped and `too_large` is set.
AssembledResponse assemble_completion(std::string_view response_json, size_t max_bytes = 1 << 20);

}  // namespace slipway::validators
