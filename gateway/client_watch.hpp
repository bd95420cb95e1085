// Notices a client that goes away while we wait on its upstream, and cancels the upstream I/O so the
// backend stops generating for nobody. It waits for readability without consuming bytes: a peek of 0
// bytes means the client closed; data means a pipelined request, which ends the watch.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include "gateway/tls_stream.hpp"

namespace slipway {

class ClientWatch {
 public:
  explicit ClientWatch(boost::asio::ip::tcp::socket& client) : client_(client), state_(std::make_shared<State>()) {}
  ~ClientWatch() { stop(); }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  void start();
  // Must be called when no other operation is pending on the client socket (it cancels them all).
  void stop();
  bool client_gone() const { return state_->gone; }
  // The upstream to cancel if the client goes away (null: none right now).
  void watch_upstream(TcpOrTlsStream* upstream) { state_->upstream = upstream; }

 private:
  struct State {
    bool done = false;
    bool gone = false;
    char peeked = 0;  // where the watch's 1-byte peek lands (consumed by nobody)
    TcpOrTlsStream* upstream = nullptr;
  };
  boost::asio::ip::tcp::socket& client_;
  std::shared_ptr<State> state_;
  bool started_ = false;
};

}  // namespace slipway
