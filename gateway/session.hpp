// One client connection: read requests under the configured limits (header bytes, body bytes, read
// time, idle time) and hand each to the request lifecycle. Keep-alive until either side ends it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/worker_context.hpp"

namespace slipway {

boost::asio::awaitable<void> run_session(WorkerContext& ctx, boost::asio::ip::tcp::socket socket);

}  // namespace slipway
