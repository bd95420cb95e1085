// The token usage an answer reports, found with as little parsing as possible: every streamed chunk is
// looked at (most carry no usage, and with include_usage on each says "usage":null), and a whole answer's
// usage is its last member. Also strips the "usage":null the gateway asked for from chunks the client sees.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

#include "gateway/outcome.hpp"

namespace slipway {

// True for the usage-only chunk a stream ends with when include_usage is on ("choices": []); `data` is the
// event's data. Chunks that cannot be that one are told apart without parsing them.
bool parse_usage_chunk(simdjson::dom::parser& parser, std::string_view data, Usage& usage);

// The "usage" object of a whole chat.completion / text_completion body.
bool parse_body_usage(simdjson::dom::parser& parser, std::string_view body, Usage& usage);

// Appends one whole SSE event (its raw bytes) to `out` without its `,"usage":null` member: with
// include_usage on, every chunk carries it, and a client that did not ask must not see it.
void append_without_null_usage(std::string& out, std::string_view event);

}  // namespace slipway
