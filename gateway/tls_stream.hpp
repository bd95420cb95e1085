// One connection that is plain TCP or TLS, decided when it is set up (docs/tls.md). Beast's HTTP
// reads and writes take it like any stream; the rest of the gateway keeps using tcp_stream's deadlines
// (expires_after / expires_never, which bound the TLS records' I/O too) and the raw socket (readiness
// waits, no_delay).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
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

  // Reads and writes go through one type-erased, out-of-line function per direction: Beast's composed
  // operations call these with a different handler type at every call site, and instantiating the TCP
  // stream's timed operations and OpenSSL's record state machine for each of them made the gateway's
  // build several times slower (relay.cpp: 91 s at -O2, far more under the sanitizers). One handler
  // allocation per read or write is small next to its system call.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          erased_read_some(first_buffers<boost::asio::mutable_buffer>(b), std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          erased_write_some(first_buffers<boost::asio::const_buffer>(b), std::move(handler));
        },
        token, buffers);
  }

  // Ends the connection politely: TLS sends its close_notify (waiting at most `limit` for the peer's),
  // plain TCP shuts down its sending side; then closes.
  boost::asio::awaitable<void> shutdown_and_close(std::chrono::steady_clock::duration limit);

 private:
  // Up to this many buffers of a sequence go into one TLS read or write; the *_some operations may move
  // fewer bytes than asked, and the composed operations calling them loop for the rest.
  static constexpr std::size_t kMaxBuffers = 16;
  template <class Buffer>
  using BufferArray = std::array<Buffer, kMaxBuffers>;
  using IoHandler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  template <class Buffer, class Sequence>
  static BufferArray<Buffer> first_buffers(const Sequence& seq) {
    BufferArray<Buffer> out{};
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(seq), end = boost::asio::buffer_sequence_end(seq);
         it != end && n < kMaxBuffers; ++it) {
      Buffer b(*it);
      if (b.size() != 0) out[n++] = b;
    }
    return out;
  }
  void erased_read_some(BufferArray<boost::asio::mutable_buffer> buffers, IoHandler handler);
  void erased_write_some(BufferArray<boost::asio::const_buffer> buffers, IoHandler handler);

  boost::beast::tcp_stream tcp_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::optional<tls_stream_type> tls_;
};

}  // namespace slipway
