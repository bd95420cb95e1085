// Incremental assembly of an SSE completion stream: feed each `data:` payload as it is relayed, then
// finish() gives the same AssembledResponse a non-streamed body would have given.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "validators/assembled_response.hpp"

namespace slipway::validators {

class StreamAssembler {
 public:
  explicit StreamAssembler(size_t max_bytes = 1 << 20);

  // One SSE `data:` payload (without the "data: " prefix). "[DONE]" is tolerated; a payload that is not
  // JSON is counted (bad_events()) and skipped; an {"error": ...} payload marks the response as errored.
  void on_event_data(std::string_view data_json);

  // Feeds raw SSE bytes in any split (splits events on blank lines, joins multi-line data fields).
  // For tools and tests; the gateway, which already splits events, calls on_event_data.
  void on_bytes(std::string_view sse_bytes);

  AssembledResponse finish();

  size_t events() const { return events_; }
  size_t bad_events() const { return bad_events_; }
  bool done_seen() const { return done_; }

 private:
  void flush_sse_event();

  AssembledResponse r_;
  size_t max_bytes_;
  size_t events_ = 0;
  size_t bad_events_ = 0;
  bool done_ = false;
  std::string line_buf_;   // on_bytes: partial line
  std::string data_buf_;   // on_bytes: data lines of the current event
  bool data_seen_ = false;
};

// Assembles a whole captured SSE stream (text/event-stream bytes).
AssembledResponse assemble_sse(std::string_view sse_bytes, size_t max_bytes = 1 << 20);

// True when the text looks like an SSE capture rather than a JSON body.
bool looks_like_sse(std::string_view text);

}  // namespace slipway::validators
