// The golden set: one JSON object a line with an id, slice tags, an OpenAI chat request and the properties
// its answer is expected to have. Loading checks each line whole (unknown keys, types, a schema or tools for
// the properties that need them, RE2 patterns, duplicate ids); a bad line is recorded with its number and
// skipped, the rest still runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <re2/re2.h>

#include "tools/replay/property.hpp"

namespace slipway::validators {
class Validator;
}

namespace slipway::replay {

struct Expect {
  bool valid_json = false;       // content parses as JSON
  bool schema_valid = false;     // content is JSON valid against the request's json_schema
  std::optional<std::string> tool;  // a tool call (in tool_calls) names this function
  bool tool_args_valid = false;  // tool calls exist, name declared functions, arguments valid for their schema
  std::optional<bool> refuse;    // the answer is (true) / is not (false) a refusal
  std::optional<std::string> citation;  // RE2 pattern found in the content
  std::shared_ptr<const RE2> citation_re;
  std::optional<int64_t> min_tokens, max_tokens;  // usage.completion_tokens bounds
  std::optional<int64_t> min_chars, max_chars;    // content length bounds, in Unicode code points
  std::optional<std::string> answer;             // content equals this (surrounding whitespace ignored)
  std::optional<std::string> answer_normalized;  // normalized content equals it (see normalize_answer)

  bool has_length_bounds() const { return min_tokens || max_tokens || min_chars || max_chars; }
  // Whether the property is checked for this case (`valid` always is).
  bool checks(Property p) const;
};

struct GoldenCase {
  size_t line = 0;                  // 1-based line of the golden file
  std::string id;
  std::vector<std::string> slices;  // as tagged; "all" is implicit
  boost::json::object request;      // the chat request, sent as is (model may be overridden)
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers of this case
  Expect expect;
};

struct BadLine {
  size_t line = 0;
  std::string error;
};

struct GoldenSet {
  std::string path;
  std::vector<GoldenCase> cases;
  std::vector<BadLine> bad_lines;
};

// Parses one line into `out`; on error returns false with `error` saying which key is wrong and why.
// `validator` reads the request as the gateway would (schemas compiled, tools parsed).
bool parse_golden_line(std::string_view text, size_t line, validators::Validator& validator, GoldenCase& out,
                       std::string& error);

// Reads the whole file. Returns false (with `error`) only when the file cannot be read; bad lines are kept in
// `out.bad_lines`. Blank lines and lines starting with '#' or '//' are skipped silently.
bool load_golden(const std::string& path, GoldenSet& out, std::string& error);

// Slice names: [a-z0-9_.-], 1 to 64 characters; "all" is reserved.
bool valid_slice_name(std::string_view name);

}  // namespace slipway::replay
