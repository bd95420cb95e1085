// One connection that is plain TCP or TLS, decided when it is set up (docs/tls.md). Beast's HTTP
// reads and writes take it like any stream; the rest of the gateway keeps using tcp_stream's deadlines
// (expires_after / expires_never, which bound the TLS records' I/O too) and the raw socket (readiness
// waits, no_delay). Plain TCP costs one predictable branch per read or write: no allocation, no
// virtual call.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace slipway {

class TcpOrTlsStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using tls_stream_type = boost::beast::ssl_stream<boost::beast::tcp_stream&>;

  explicit TcpOrTlsStream(const executor_type& ex) : tcp_(ex) {}
  explicit TcpOrTlsStream(boost::asio::ip::tcp::socket socket) : tcp_(std::move(socket)) {}
  // The TLS layer refers to tcp_: the stream stays where it was made.
  TcpOrTlsStream(const TcpOrTlsStream&) = delete;
  TcpOrTlsStream& operator=(const TcpOrTlsStream&) = delete;

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  boost::beast::tcp_stream& tcp() noexcept { return tcp_; }
  boost::asio::ip::tcp::socket& socket() noexcept { return tcp_.socket(); }
  void expires_after(std::chrono::steady_clock::duration d) { tcp_.expires_after(d); }
  void expires_at(std::chrono::steady_clock::time_point t) { tcp_.expires_at(t); }
  void expires_never() { tcp_.expires_never(); }
  void cancel() { tcp_.cancel(); }
  void close() { tcp_.close(); }

  bool is_tls() const noexcept { return tls_.has_value(); }
  // Puts TLS over the connection (before its handshake). `context` lives as long as the stream, so a
  // reload that replaces the certificate never pulls it from under an open connection.
  tls_stream_type& start_tls(std::shared_ptr<boost::asio::ssl::context> context) {
    context_ = std::move(context);
    return tls_.emplace(tcp_, *context_);
  }
  tls_stream_type* tls() noexcept { return tls_ ? &*tls_ : nullptr; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (tls_) tls_->async_read_some(b, std::move(handler));
          else tcp_.async_read_some(b, std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (tls_) tls_->async_write_some(b, std::move(handler));
          else tcp_.async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

  // Ends the connection politely: TLS sends its close_notify (waiting at most `limit` for the peer's),
  // plain TCP shuts down its sending side; then closes.
  boost::asio::awaitable<void> shutdown_and_close(std::chrono::steady_clock::duration limit);

 private:
  boost::beast::tcp_stream tcp_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::optional<tls_stream_type> tls_;
};

}  // namespace slipway
