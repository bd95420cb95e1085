// One client connection: read requests under the configured limits (header bytes, body bytes, read
// time, idle time) and hand each to the request lifecycle. Keep-alive until either side ends it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/tls_context.hpp"
#include "gateway/worker_context.hpp"

namespace slipway {

// `tls`: the listener's TLS context when it serves TLS (null: plain HTTP). The handshake is bounded by
// listen.tls.handshake_timeout.
boost::asio::awaitable<void> run_session(WorkerContext& ctx, boost::asio::ip::tcp::socket socket, TlsContextPtr tls);

}  // namespace slipway
