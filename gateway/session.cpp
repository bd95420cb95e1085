#include "gateway/session.hpp"

#include <vector>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/http_read.hpp"
#include "gateway/http_util.hpp"
#include "gateway/lifecycle.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct ReadFailure {
  int status;
  std::string message;
  std::string code;
};

ReadFailure describe(const boost::system::error_code& ec, const config::Limits& limits, bool timed_out) {
  if (timed_out)
    return {408, "The request was not received within limits.read_timeout (" +
                     std::to_string(limits.read_timeout.count()) + " ms).", "request_timeout"};
  if (ec == http::error::header_limit)
    return {431, "The request's headers are larger than limits.max_header_bytes (" +
                     std::to_string(limits.max_header_bytes) + " bytes).", "headers_too_large"};
  if (ec == http::error::body_limit)
    return {413, "The request body is larger than limits.max_body_bytes (" + std::to_string(limits.max_body_bytes) +
                     " bytes).", "request_too_large"};
  return {400, "Malformed HTTP request: " + ec.message() + ".", "bad_request"};
}

net::awaitable<void> send_read_failure(TcpOrTlsStream& client, const ReadFailure& f, WorkerContext& ctx) {
  http::response<http::string_body> res{static_cast<http::status>(f.status), 11};
  res.set(http::field::content_type, "application/json");
  res.set("x-request-id", new_request_id(ctx.rng));
  res.body() = openai_error_body(f.message, "invalid_request_error", "", f.code);
  res.keep_alive(false);
  res.prepare_payload();
  boost::system::error_code ec;
  client.expires_after(std::chrono::seconds(5));
  co_await http::async_write(client, res, net::redirect_error(net::use_awaitable, ec));
  ctx.log.write(LogLevel::info, "request_rejected", {{"status", f.status}, {"error", f.code}});
  // Lingering close (as nginx's lingering_close): a client refused for its size may still be sending.
  // Closing with its bytes unread would reset the connection and destroy this answer on the way, so
  // read and drop what comes for up to 1 s (at most 8 MiB) first; a client that stops and closes ends it.
  if (!ec && (f.status == 413 || f.status == 431)) {
    std::vector<char> scratch(16 * 1024);
    std::size_t drained = 0;
    client.expires_after(std::chrono::seconds(1));
    while (drained < (std::size_t{8} << 20)) {
      std::size_t n = co_await client.async_read_some(net::buffer(scratch), net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
      drained += n;
    }
  }
}

// The TLS handshake of a new client, bounded in time. On failure: one log line, a plain-HTTP client gets a
// plain-HTTP 400 saying so (as nginx does), and the connection is closed.
net::awaitable<bool> accept_tls(WorkerContext& ctx, TcpOrTlsStream& client, TlsContextPtr tls) {
  const auto& listen_tls = ctx.store.current()->config->listen.tls;
  const Clock::duration limit = listen_tls ? listen_tls->handshake_timeout : config::ServerTls{}.handshake_timeout;
  auto& stream = client.start_tls(std::move(tls));
  boost::system::error_code ec;
  client.expires_after(limit);
  co_await client.handshake(net::ssl::stream_base::server, ec);
  client.expires_never();
  if (!ec) co_return true;
  boost::system::error_code peer_ec;
  auto peer = client.socket().remote_endpoint(peer_ec);
  log_tls_handshake_failure(ctx.log, "main",
                            peer_ec ? std::string("unknown") : peer.address().to_string() + ":" + std::to_string(peer.port()),
                            tls_failure_reason(ec, &stream));
  if (is_plain_http_on_tls_port(ec)) {
    std::string body = openai_error_body("This port serves HTTPS: the request was sent in plain HTTP. Use https://.",
                                         "invalid_request_error", "", "plain_http_to_https_port");
    std::string res = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n"
                      "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    client.expires_after(std::chrono::seconds(2));
    co_await client.write_unencrypted(net::buffer(res), ec);
    client.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
  client.close();
  co_return false;
}

bool expects_continue(const http::request_parser<http::string_body>& p) {
  return beast::iequals(field_value(p.get(), http::field::expect), "100-continue");
}

// Reads one request into `parser`, answering "Expect: 100-continue" once the header is in and the body
// is not.
net::awaitable<void> read_request(TcpOrTlsStream& client, beast::flat_buffer& buffer,
                                  http::request_parser<http::string_body>& parser, boost::system::error_code& ec) {
  parser.eager(true);
  co_await read_http(client, buffer, parser, ReadUntil::header, ec);
  if (ec || parser.is_done()) co_return;
  if (expects_continue(parser)) {
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    co_await net::async_write(client, net::buffer(cont), net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
  }
  co_await read_http(client, buffer, parser, ReadUntil::message, ec);
}

}  // namespace

net::awaitable<void> run_session(WorkerContext& ctx, net::ip::tcp::socket socket, TlsContextPtr tls) {
  ctx.counters.connections.fetch_add(1, std::memory_order_relaxed);
  struct ConnectionCount {
    std::atomic<int>& n;
    ~ConnectionCount() { n.fetch_sub(1, std::memory_order_relaxed); }
  } connection_count{ctx.counters.connections};

  TcpOrTlsStream client(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  client.socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (tls && !co_await accept_tls(ctx, client, std::move(tls))) co_return;

  for (;;) {
    if (buffer.size() == 0) {
      // Keep-alive idle wait: closing here loses nothing, no request has started.
      client.expires_after(ctx.store.current()->config->limits.idle_timeout);
      std::size_t n = co_await client.async_read_some(buffer.prepare(4096), net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
      buffer.commit(n);
    }
    client.expires_never();
    // The snapshot is taken when the request's first bytes are here, not when the connection went idle:
    // a request that arrives after a reload is served by the new config.
    auto snapshot = ctx.store.current();
    const auto& limits = snapshot->config->limits;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    // A deadline for reading one request that only cancels the read, so the client can still be told
    // "408" instead of seeing its connection vanish.
    client.expires_after(limits.read_timeout, DeadlineAction::cancel);
    co_await read_request(client, buffer, parser, ec);
    const bool timed_out = client.timed_out();
    client.expires_never();
    if (ec) {
      bool nothing_to_answer = (ec == http::error::end_of_stream || ec == net::error::eof ||
                                ec == net::error::connection_reset) && !timed_out;
      if (!nothing_to_answer) co_await send_read_failure(client, describe(ec, limits, timed_out), ctx);
      break;
    }

    auto req = parser.release();
    bool keep_alive = co_await handle_request(ctx, std::move(snapshot), client, req);
    // Draining: a connection closes after the answer it was working on, so the process can exit without
    // cutting a request that would otherwise arrive on it.
    if (!keep_alive || ctx.counters.draining.load(std::memory_order_relaxed)) break;
  }
  if (client.is_tls()) {
    co_await client.shutdown_and_close(std::chrono::seconds(1));
    co_return;
  }
  client.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  client.close();
}

}  // namespace slipway
