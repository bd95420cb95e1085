// One request's life in the gateway. The phases, in order (read happens in the session):
//   identify -> local? -> admit -> classify -> split -> forward (pick + send) -> relay -> record
// lifecycle.cpp reads top to bottom in that order.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/tls_stream.hpp"
#include "gateway/worker_context.hpp"

namespace slipway {

using ClientRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Answers `req` on `client`. Returns true when the connection may serve another request.
boost::asio::awaitable<bool> handle_request(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot,
                                            TcpOrTlsStream& client, ClientRequest& req);

}  // namespace slipway
