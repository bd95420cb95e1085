#include "gateway/upstream_pool.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace slipway {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// Backends close idle keep-alive connections after a while (uvicorn: 5 s). Drop ours well before
// that, and check the socket has not been closed under us, so reuse rarely meets a dead connection.
constexpr auto kMaxIdle = std::chrono::seconds(4);
// The check is a system call (a peek); a connection back in the pool for less than this is taken on
// trust: a backend closing it so soon would have said `Connection: close` (then it was never pooled),
// and a request sent on one closed anyway is retried (start_upstream_call's stale retries).
constexpr auto kCheckAfterIdle = std::chrono::seconds(1);

bool still_open(tcp::socket& s) {
  char c;
  ssize_t r = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

void UpstreamConnection::shrink_for_stream() {
  if (buffer.capacity() <= kInitialReadBytes || buffer.size() > kInitialReadBytes / 2) return;
  boost::beast::flat_buffer small;
  small.reserve(kInitialReadBytes);
  small.commit(net::buffer_copy(small.prepare(buffer.size()), buffer.data()));
  buffer = std::move(small);
}

net::awaitable<std::unique_ptr<UpstreamConnection>> UpstreamPool::acquire(const EndpointState& ep,
                                                                          Clock::duration connect_timeout,
                                                                          boost::system::error_code& ec) {
  ec = {};
  auto now = Clock::now();
  if (auto it = idle_.find(ep.label()); it != idle_.end()) {
    auto& stack = it->second;
    while (!stack.empty()) {
      auto conn = std::move(stack.back());
      stack.pop_back();
      auto idle = now - conn->idle_since;
      if (idle < kMaxIdle && (idle < kCheckAfterIdle || still_open(conn->stream.socket()))) {
        conn->reused = true;
        co_return conn;
      }
    }
  }

  auto conn = std::make_unique<UpstreamConnection>(executor_);
  conn->endpoint_label = ep.label();
  const auto& cfg = ep.endpoint();
  std::vector<tcp::endpoint> targets;
  boost::system::error_code addr_ec;
  auto addr = net::ip::make_address(cfg.host, addr_ec);
  if (!addr_ec) {
    targets.emplace_back(addr, cfg.port);
  } else {
    tcp::resolver resolver(executor_);
    auto results = co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port),
                                                   net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return nullptr;
    for (const auto& r : results) targets.push_back(r.endpoint());
  }
  conn->stream.expires_after(connect_timeout);
  co_await conn->stream.connect(targets, ec);
  if (ec) co_return nullptr;
  conn->stream.socket().set_option(tcp::no_delay(true), addr_ec);
  if (cfg.tls) {
    TlsContextPtr context = tls_ ? tls_->upstream() : nullptr;
    if (!context) {
      ec = net::error::no_protocol_option;  // not expected: a config with https:// endpoints builds a context
      co_return nullptr;
    }
    auto& tls = conn->stream.start_tls(std::move(context));
    prepare_client_handshake(tls, cfg.host, tls_->upstream_verifies());
    // Still under the connect deadline: a backend that accepts but never completes the handshake is a
    // connect failure like a refused connection.
    co_await conn->stream.handshake(net::ssl::stream_base::client, ec);
    if (ec) {
      if (log_) log_tls_handshake_failure(*log_, "upstream", ep.label(), tls_failure_reason(ec, &tls));
      co_return nullptr;
    }
  }
  co_return conn;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> conn) {
  // Bytes read past the last response (a backend that sent more than its Content-Length) would be taken
  // for the next request's answer: such a connection is closed, not reused.
  if (conn->buffer.size() > 0) return;
  auto& stack = idle_[conn->endpoint_label];
  if (stack.size() >= max_idle_) return;  // closes it
  conn->stream.expires_never();
  conn->idle_since = Clock::now();
  stack.push_back(std::move(conn));
}

EndpointState* pick_endpoint(const VariantRuntime& variant, Clock::time_point now, const EndpointState* avoid,
                             unsigned& rotor) {
  const auto& eps = variant.endpoints;
  if (eps.empty()) return nullptr;
  EndpointState* best = nullptr;
  EndpointState* fallback = nullptr;  // `avoid`, if nothing else is usable
  std::size_t n = eps.size();
  std::size_t start = rotor++ % n;
  for (std::size_t i = 0; i < n; ++i) {
    EndpointState* ep = eps[(start + i) % n].get();
    if (!ep->usable(now)) continue;
    if (ep == avoid) {
      fallback = ep;
      continue;
    }
    if (!best || ep->outstanding() < best->outstanding()) best = ep;
  }
  return best ? best : fallback;
}

}  // namespace slipway
