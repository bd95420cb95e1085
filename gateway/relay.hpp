// The relay phase: passes the backend's answer to the client. Non-streaming bodies are read whole
// (bounded) so they can be validated (and replaced by the baseline's on a fallback) before a byte is
// sent; SSE streams are passed on event by event as they arrive, never buffered whole, with
// backpressure (we read the backend only as fast as the client takes what we write), while the
// stream assembler rebuilds the answer for validation at the end.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "gateway/client_watch.hpp"
#include "gateway/outcome.hpp"
#include "gateway/tls_stream.hpp"
#include "gateway/upstream_call.hpp"
#include "validators/stream_assembler.hpp"

namespace slipway {

struct ResponseHeaders {
  std::string request_id;
  std::string variant_header;   // empty: not sent
  std::string_view variant;     // the variant that answered
  bool keep_alive = true;       // false: the answer says `Connection: close` (client asked, or draining)
};

// Reads the rest of a non-streaming answer into `body` (bounded by limits.max_response_bytes). On
// failure the upstream connection is dropped and the endpoint charged; on success it returns to the pool.
boost::asio::awaitable<UpstreamFailure> read_whole_body(WorkerContext& ctx, const config::Config& cfg,
                                                        UpstreamCall& call, ClientWatch& watch,
                                                        Clock::time_point deadline, std::string& body);

// Sends a whole answer with the backend's status and headers (hop-by-hop headers dropped, ours added).
boost::asio::awaitable<bool> send_whole(TcpOrTlsStream& client, const config::Config& cfg,
                                        const boost::beast::http::response_header<>& upstream, std::string body,
                                        const ResponseHeaders& headers, Outcome& out);

struct StreamRelay {
  WorkerContext& ctx;
  const config::Config& cfg;
  TcpOrTlsStream& client;
  ClientWatch& watch;
  UpstreamCall& call;
  Clock::time_point deadline;
  Outcome& out;
  ResponseHeaders headers;
  bool strip_usage;                            // we asked for usage the client did not ask for
  validators::StreamAssembler* assembler;      // null: not validating
};

// Relays an SSE answer. Returns true when it ended cleanly on both sides (the connection may be reused).
boost::asio::awaitable<bool> relay_stream(StreamRelay& r);

bool is_event_stream(const boost::beast::http::response_header<>& h);

}  // namespace slipway
