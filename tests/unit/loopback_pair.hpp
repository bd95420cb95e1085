// A TcpOrTlsStream and the plain socket at the other end of its loopback connection, on one io_context,
// for the unit tests of the stream's deadlines and writes.
#pragma once

#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/tls_stream.hpp"

namespace slipway::test {

struct LoopbackPair {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket peer{ioc};
  std::optional<TcpOrTlsStream> ours;
  LoopbackPair() {
    namespace net = boost::asio;
    net::ip::tcp::acceptor acceptor(ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    net::ip::tcp::socket accepted(ioc);
    acceptor.accept(accepted);
    ours.emplace(std::move(accepted));
  }
};

// Runs the loop until `flag` is set, at most `limit`.
inline void run_until(LoopbackPair& p, const bool& flag, std::chrono::steady_clock::duration limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!flag && std::chrono::steady_clock::now() < end) {
    p.ioc.restart();
    p.ioc.run_for(std::chrono::milliseconds(5));
  }
}

}  // namespace slipway::test
