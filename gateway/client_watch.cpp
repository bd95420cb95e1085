#include "gateway/client_watch.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace slipway {

void ClientWatch::start() {
  if (started_) return;
  started_ = true;
  auto state = state_;
  int fd = client_.native_handle();
  client_.async_wait(boost::asio::ip::tcp::socket::wait_read, [state, fd](boost::system::error_code ec) {
    if (state->done) return;
    bool gone = false;
    if (ec) {
      gone = ec != boost::asio::error::operation_aborted;
    } else {
      char c;
      ssize_t r = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    if (!gone) return;
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
