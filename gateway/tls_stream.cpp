#include "gateway/tls_stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace slipway {

namespace net = boost::asio;

void TcpOrTlsStream::tls_read_some(BufferArray<net::mutable_buffer> buffers, IoHandler handler) {
  tls_->async_read_some(buffers, std::move(handler));
}

void TcpOrTlsStream::tls_write_some(BufferArray<net::const_buffer> buffers, IoHandler handler) {
  tls_->async_write_some(buffers, std::move(handler));
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
