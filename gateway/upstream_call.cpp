#include "gateway/upstream_call.hpp"

#include <array>
#include <limits>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include "gateway/http_read.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string_view to_string(UpstreamFailure f) {
  switch (f) {
    case UpstreamFailure::none: return "none";
    case UpstreamFailure::no_endpoint: return "no_endpoint";
    case UpstreamFailure::connect: return "connect";
    case UpstreamFailure::first_byte_timeout: return "first_byte_timeout";
    case UpstreamFailure::stream_idle_timeout: return "stream_idle_timeout";
    case UpstreamFailure::total_timeout: return "total_timeout";
    case UpstreamFailure::broken: return "broken";
    case UpstreamFailure::too_large: return "too_large";
    case UpstreamFailure::client_gone: return "client_gone";
  }
  return "unknown";
}

void UpstreamCall::release_endpoint() {
  if (endpoint) endpoint->end_request();
  endpoint = nullptr;
}

namespace {
bool is_timeout(const boost::system::error_code& ec) { return ec == beast::error::timeout; }
}  // namespace

net::awaitable<void> start_upstream_call(WorkerContext& ctx, const VariantRuntime& variant, const config::Config& cfg,
                                         const UpstreamRequest& req, Clock::time_point deadline, ClientWatch& watch,
                                         UpstreamCall& call) {
  const auto& timeouts = cfg.timeouts;
  EndpointState* last_failed = nullptr;
  int endpoint_retries_left = 1;   // one retry on another endpoint when the request was not sent
  int stale_retries_left = 2;      // pooled connections the backend had closed
  for (;;) {
    call.release_endpoint();
    call.conn.reset();
    call.parser.reset();
    auto now = Clock::now();
    EndpointState* ep = pick_endpoint(variant, now, last_failed, ctx.rotor);
    if (!ep) {
      call.failure = UpstreamFailure::no_endpoint;
      call.failure_detail = "no healthy endpoint";
      co_return;
    }
    ep->begin_request();
    call.endpoint = ep;

    boost::system::error_code ec;
    auto conn = co_await ctx.pool.acquire(*ep, time_left(timeouts.connect, deadline), ec);
    if (watch.client_gone()) {
      call.failure = UpstreamFailure::client_gone;
      co_return;
    }
    if (!conn) {
      ep->record_failure(cfg.health, Clock::now());
      call.failure = UpstreamFailure::connect;
      call.failure_detail = ep->label() + ": " + (is_timeout(ec) ? std::string("connect timeout") : ec.message());
      if (endpoint_retries_left-- > 0 && Clock::now() < deadline) {
        last_failed = ep;
        ++call.retries;
        continue;
      }
      co_return;
    }
    call.conn = std::move(conn);
    watch.watch_upstream(&call.conn->stream);

    call.conn->stream.expires_after(time_left(timeouts.first_byte, deadline));
    std::array<net::const_buffer, 3> parts{net::buffer(req.head), net::buffer(ep->head_end()), net::buffer(req.body)};
    co_await call.conn->stream.write_all(parts, ec);
    if (!ec) {
      call.parser.emplace();
      call.parser->header_limit(64 * 1024);
      call.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (!req.expect_stream) call.conn->make_room_for_whole_answer();
      co_await read_http(call.conn->stream, call.conn->buffer, *call.parser, ReadUntil::header, ec);
    }
    if (watch.client_gone()) {
      watch.watch_upstream(nullptr);
      call.failure = UpstreamFailure::client_gone;
      co_return;
    }
    if (ec) {
      watch.watch_upstream(nullptr);
      bool nothing_received = !call.parser || call.parser->got_some() == false;
      if (call.conn->reused && nothing_received && !is_timeout(ec) && stale_retries_left-- > 0) {
        continue;  // the backend closed this idle connection: the request never reached it
      }
      ep->record_failure(cfg.health, Clock::now());
      if (is_timeout(ec)) {
        call.failure = Clock::now() >= deadline ? UpstreamFailure::total_timeout : UpstreamFailure::first_byte_timeout;
        call.failure_detail = ep->label() + ": no response header in time";
      } else {
        call.failure = UpstreamFailure::broken;
        call.failure_detail = ep->label() + ": " + ec.message();
      }
      co_return;
    }
    call.header_at = Clock::now();
    // A success is recorded when the exchange completes (relay.cpp, finish_upstream): a stream that breaks
    // after a good header must count as the endpoint's failure.
    if (call.parser->get().result_int() >= 500) ep->record_failure(cfg.health, call.header_at);
    co_return;
  }
}

}  // namespace slipway
