// Forwarding one request to a variant: pick an endpoint, take a pooled connection, send, and read the
// response header, under the connect / first-byte / total timeouts. Retries once on another endpoint
// when the request never reached a backend, and transparently when a pooled keep-alive connection
// turns out to have been closed by the backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/client_watch.hpp"
#include "gateway/upstream_request.hpp"
#include "gateway/worker_context.hpp"

namespace slipway {

enum class UpstreamFailure {
  none,
  no_endpoint,        // every endpoint of the variant is ejected or down
  connect,            // could not connect (refused, unreachable, connect timeout)
  first_byte_timeout, // sent, but no response header in time
  stream_idle_timeout,
  total_timeout,
  broken,             // reset or closed mid-exchange, or not HTTP
  too_large,          // non-streaming body over limits.max_response_bytes
  client_gone,
};
std::string_view to_string(UpstreamFailure f);

struct UpstreamCall {
  std::unique_ptr<UpstreamConnection> conn;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser;
  EndpointState* endpoint = nullptr;
  int retries = 0;
  UpstreamFailure failure = UpstreamFailure::none;
  std::string failure_detail;
  Clock::time_point header_at{};

  UpstreamCall() = default;
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;
  ~UpstreamCall() { release_endpoint(); }
  // Ends this call's share of the endpoint's in-flight count.
  void release_endpoint();
  bool started() const { return parser.has_value() && parser->is_header_done(); }
};

boost::asio::awaitable<void> start_upstream_call(WorkerContext& ctx, const VariantRuntime& variant,
                                                 const config::Config& cfg, const UpstreamRequest& req,
                                                 Clock::time_point deadline, ClientWatch& watch, UpstreamCall& call);

// Time left for one operation: the phase's own timeout, cut by the exchange's total deadline.
inline Clock::duration time_left(Clock::duration phase, Clock::time_point deadline) {
  auto left = deadline - Clock::now();
  if (left < Clock::duration::zero()) left = Clock::duration::zero();
  return phase < left ? phase : left;
}

}  // namespace slipway
