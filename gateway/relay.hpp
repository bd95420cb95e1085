// The relay phase: passes the backend's answer to the client. Non-streaming bodies are read whole
// (bounded) and sent; SSE streams are passed on event by event as they arrive, never buffered whole,
// with backpressure (we read the backend only as fast as the client takes what we write).
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "gateway/client_watch.hpp"
#include "gateway/outcome.hpp"
#include "gateway/upstream_call.hpp"

namespace slipway {

struct ResponseHeaders {
  std::string request_id;
  std::string variant_header;   // empty: not sent
  std::string_view variant;
};

struct RelayRequest {
  WorkerContext& ctx;
  const config::Config& cfg;
  boost::beast::tcp_stream& client;
  ClientWatch& watch;
  UpstreamCall& call;
  Clock::time_point deadline;
  Outcome& out;
  ResponseHeaders headers;
  bool strip_usage;   // we asked the backend for usage the client did not ask for
};

// Returns true when the exchange ended cleanly on both sides (the client connection may be reused).
boost::asio::awaitable<bool> relay_response(RelayRequest& r);

// True for the usage-only chunk a stream ends with when include_usage is on ("choices": []).
// Fills `usage` from it.
bool parse_usage_chunk(simdjson::dom::parser& parser, std::string_view data, Usage& usage);

}  // namespace slipway
