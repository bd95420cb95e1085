#include "gateway/client_watch.hpp"

#include <boost/asio/buffer.hpp>

namespace slipway {

void ClientWatch::start() {
  if (started_) return;
  started_ = true;
  auto state = state_;
  // A 1-byte peek, not async_wait(wait_read): Asio tries a receive at once and, on EAGAIN, queues it
  // behind the epoll registration the socket already has; a readiness wait instead re-arms the socket
  // with an epoll_ctl each time, a syscall on every proxied request. Peeking consumes nothing: the
  // session still reads a pipelined request whole.
  client_.async_receive(boost::asio::buffer(&state->peeked, 1), boost::asio::socket_base::message_peek,
                        [state](boost::system::error_code ec, std::size_t) {
                          if (state->done) return;
                          // 0 bytes (eof) or an error: the client is gone. Data: a pipelined request.
                          if (!ec || ec == boost::asio::error::operation_aborted || ec == boost::asio::error::would_block ||
                              ec == boost::asio::error::try_again)
                            return;
                          state->gone = true;
                          if (state->upstream) state->upstream->cancel();
                        });
}

void ClientWatch::stop() {
  if (!started_ || state_->done) return;
  state_->done = true;
  boost::system::error_code ignored;
  client_.cancel(ignored);
}

}  // namespace slipway
