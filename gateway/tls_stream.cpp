#include "gateway/tls_stream.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>

namespace slipway {

namespace net = boost::asio;

namespace {

// Completes one read or write: the deadline's bookkeeping, then the caller's handler. It keeps the
// caller's allocator (the coroutine's recycled frames) and cancellation slot.
struct DeadlineHandler {
  std::shared_ptr<ConnectionDeadline::State> deadline;
  net::any_completion_handler<void(boost::system::error_code, std::size_t)> handler;

  using allocator_type = net::any_completion_handler_allocator<void, void(boost::system::error_code, std::size_t)>;
  allocator_type get_allocator() const noexcept { return handler.get_allocator(); }
  using cancellation_slot_type = net::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }

  void operator()(boost::system::error_code ec, std::size_t n) {
    ConnectionDeadline::end_op(*deadline, ec);
    std::move(handler)(ec, n);
  }
};

// Brackets a coroutine's operation with the deadline's bookkeeping.
class CountedOp {
 public:
  explicit CountedOp(ConnectionDeadline& d) : deadline_(d) { d.begin_op(); }
  void end(boost::system::error_code& ec) {
    if (ended_) return;
    ended_ = true;
    deadline_.end_op(ec);
  }
  ~CountedOp() {
    boost::system::error_code ignored;
    end(ignored);
  }

 private:
  ConnectionDeadline& deadline_;
  bool ended_ = false;
};

}  // namespace

// DeadlineHandler has no associated executor of its own, so the socket's (the worker's io_context) runs
// it: the erased handler's any_completion_executor cannot be required to be blocking.never in Boost 1.81,
// which the streams' posted completions ask of it. Binding the socket's executor explicitly did the same
// and cost a copy and a destruction of an any_io_executor per read or write (1.6 % of a chat request).
void TcpOrTlsStream::erased_read_some(BufferArray<net::mutable_buffer> buffers, IoHandler handler) {
  deadline_.begin_op();
  DeadlineHandler bound{deadline_.state(), std::move(handler)};
  if (tls_) tls_->async_read_some(buffers, std::move(bound));
  else if (buffers.count <= 1) socket_.async_read_some(buffers.items[0], std::move(bound));
  else socket_.async_read_some(buffers, std::move(bound));
}

void TcpOrTlsStream::erased_write_some(BufferArray<net::const_buffer> buffers, IoHandler handler) {
  deadline_.begin_op();
  DeadlineHandler bound{deadline_.state(), std::move(handler)};
  if (tls_) tls_->async_write_some(buffers, std::move(bound));
  else if (buffers.count <= 1) socket_.async_write_some(buffers.items[0], std::move(bound));
  else socket_.async_write_some(buffers, std::move(bound));
}

net::awaitable<void> TcpOrTlsStream::connect(const Endpoints& targets, boost::system::error_code& ec) {
  CountedOp op(deadline_);
  co_await net::async_connect(socket_, targets, net::redirect_error(net::use_awaitable, ec));
  op.end(ec);
}

net::awaitable<void> TcpOrTlsStream::handshake(net::ssl::stream_base::handshake_type type, boost::system::error_code& ec) {
  if (!tls_) {
    ec = net::error::no_protocol_option;
    co_return;
  }
  CountedOp op(deadline_);
  co_await tls_->async_handshake(type, net::redirect_error(net::use_awaitable, ec));
  op.end(ec);
}

std::size_t TcpOrTlsStream::send_now(const BufferArray<net::const_buffer>& buffers, boost::system::error_code& ec) {
  std::array<iovec, kMaxBuffers> iov{};
  for (std::size_t i = 0; i < buffers.count; ++i)
    iov[i] = {const_cast<void*>(buffers.items[i].data()), buffers.items[i].size()};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = buffers.count;
  // MSG_DONTWAIT for this send alone (the descriptor's own mode is Asio's); MSG_NOSIGNAL as Asio sends.
  ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ec.assign(errno, boost::system::system_category());
  return 0;
}

net::awaitable<void> TcpOrTlsStream::write_all_pieces(BufferArray<net::const_buffer> buffers, boost::system::error_code& ec) {
  ec = {};
  std::size_t sent = 0;
  // Not past a deadline that has already acted: that write ends with beast::error::timeout, as below.
  if (!tls_ && !deadline_.timed_out() && buffers.count > 0) {
    sent = send_now(buffers, ec);
    if (ec || sent == buffers.size()) co_return;
  }
  boost::beast::buffers_suffix<BufferArray<net::const_buffer>> rest(buffers);
  rest.consume(sent);
  co_await net::async_write(*this, rest, net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<void> TcpOrTlsStream::write_unencrypted(net::const_buffer bytes, boost::system::error_code& ec) {
  CountedOp op(deadline_);
  co_await net::async_write(socket_, bytes, net::redirect_error(net::use_awaitable, ec));
  op.end(ec);
}

net::awaitable<void> TcpOrTlsStream::shutdown_and_close(std::chrono::steady_clock::duration limit) {
  boost::system::error_code ec;
  if (tls_) {
    deadline_.expires_after(limit);
    CountedOp op(deadline_);
    co_await tls_->async_shutdown(net::redirect_error(net::use_awaitable, ec));
  } else {
    socket_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
  close();
}

}  // namespace slipway
