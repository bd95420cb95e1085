// Verdict of validating one response: findings (kind, detail, JSON pointer), labels and counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::validators {

// Bounds on what one request (and one response) can make the validators do.
struct Limits {
  size_t max_schema_bytes = 64 * 1024;   // canonical (re-serialised) schema text
  size_t max_schema_depth = 32;          // JSON nesting depth of a schema document
  size_t max_subschemas = 2000;          // schema objects in one schema document
  int max_regex_program_size = 2000;     // RE2 ProgramSize() of one `pattern`
  size_t max_assembled_bytes = 1 << 20;  // content + tool-call arguments + refusal of one response
  size_t schema_cache_entries = 256;     // compiled schemas kept per Validator (LRU)
};

enum class FindingKind {
  json_invalid,
  schema_violation,
  tool_unknown_function,
  tool_args_invalid_json,
  tool_args_schema_violation,
  tool_choice_violated,
  tool_call_in_content,
  refusal,
  truncated,
  empty,
  assembled_too_large,
};
inline constexpr size_t kFindingKindCount = 11;

std::string_view to_string(FindingKind);
// Parses the name back (for tools and tests); returns false when unknown.
bool finding_kind_from_string(std::string_view, FindingKind&);

struct Finding {
  FindingKind kind;
  std::string detail;  // "<pointer>: <what is wrong> (<rule>)", prefixed with the tool call when relevant
  std::string path;    // JSON pointer into the checked instance ("" = the whole document)
  bool failing = true; // refusal and truncated are labels, not failures
};

struct Verdict {
  std::vector<Finding> findings;
  bool refusal = false;
  bool truncated = false;
  bool empty = false;
  size_t tool_calls = 0;
  size_t tool_calls_valid = 0;

  bool ok() const;  // no failing finding
  bool has(FindingKind) const;
  // Bit (1 << kind) set for every kind present (failing or not): for metrics that count a kind once per response.
  uint32_t kinds_mask() const;
  const Finding* first_failing() const;
  void add(FindingKind kind, std::string detail, std::string path = {}, bool failing = true);
};

// One JSON object: {"ok":..,"findings":[{"kind","detail","path","failing"}],"refusal":..,"truncated":..,
// "empty":..,"tool_calls":..,"tool_calls_valid":..}. Used by the CLI and log lines.
std::string to_json(const Verdict&);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void append_json_string(std::string& out, std::string_view s);

}  // namespace slipway::validators
