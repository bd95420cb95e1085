#include "gateway/tls_stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace slipway {

namespace net = boost::asio;

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
