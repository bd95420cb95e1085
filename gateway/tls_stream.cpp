#include "gateway/tls_stream.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace slipway {

namespace net = boost::asio;

// The erased handler is bound to the connection's own executor: Boost 1.81's any_completion_executor
// cannot be required to be blocking.never, which the streams' posted completions ask of it (and a
// connection's operations all run on its worker's io_context anyway).
void TcpOrTlsStream::erased_read_some(BufferArray<net::mutable_buffer> buffers, IoHandler handler) {
  auto bound = net::bind_executor(tcp_.get_executor(), std::move(handler));
  if (tls_) tls_->async_read_some(buffers, std::move(bound));
  else tcp_.async_read_some(buffers, std::move(bound));
}

void TcpOrTlsStream::erased_write_some(BufferArray<net::const_buffer> buffers, IoHandler handler) {
  auto bound = net::bind_executor(tcp_.get_executor(), std::move(handler));
  if (tls_) tls_->async_write_some(buffers, std::move(bound));
  else tcp_.async_write_some(buffers, std::move(bound));
}

net::awaitable<void> TcpOrTlsStream::shutdown_and_close(std::chrono::steady_clock::duration limit) {
  boost::system::error_code ec;
  if (tls_) {
    tcp_.expires_after(limit);
    co_await tls_->async_shutdown(net::redirect_error(net::use_awaitable, ec));
  } else {
    tcp_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
  tcp_.close();
}

}  // namespace slipway
