// One connection that is plain TCP or TLS, decided when it is set up (docs/tls.md). Beast's HTTP
// reads and writes take it like any stream. Its deadlines (expires_after / expires_at / expires_never)
// bound its reads, writes, connect and TLS handshake as Beast's tcp_stream bounds its own, ending them with
// beast::error::timeout; they are kept by a ConnectionDeadline, which does not arm a timer per operation.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/connection_deadline.hpp"

namespace slipway {

class TcpOrTlsStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using tls_stream_type = boost::beast::ssl_stream<boost::asio::ip::tcp::socket&>;
  using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

  explicit TcpOrTlsStream(const executor_type& ex) : socket_(ex), deadline_(ex, socket_) {}
  explicit TcpOrTlsStream(boost::asio::ip::tcp::socket socket)
      : socket_(std::move(socket)), deadline_(socket_.get_executor(), socket_) {}
  // The TLS layer and the deadline refer to socket_: the stream stays where it was made.
  TcpOrTlsStream(const TcpOrTlsStream&) = delete;
  TcpOrTlsStream& operator=(const TcpOrTlsStream&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
  // With DeadlineAction::cancel a deadline that passes cancels the pending reads and writes but keeps
  // the connection open (to answer 408 on it).
  void expires_after(std::chrono::steady_clock::duration d, DeadlineAction action = DeadlineAction::close) {
    deadline_.expires_after(d, action);
  }
  void expires_at(std::chrono::steady_clock::time_point t) { deadline_.expires_at(t); }
  void expires_never() { deadline_.expires_never(); }
  // The last deadline ended an operation (reset when a deadline is set).
  bool timed_out() const noexcept { return deadline_.timed_out(); }
  void cancel() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // Connects to the first of `targets` that accepts, under the deadline.
  boost::asio::awaitable<void> connect(const Endpoints& targets, boost::system::error_code& ec);
  // The TLS handshake (after start_tls), under the deadline.
  boost::asio::awaitable<void> handshake(boost::asio::ssl::stream_base::handshake_type type,
                                         boost::system::error_code& ec);
  // Bytes straight onto the TCP connection, past any TLS layer (a plain-HTTP answer to a client that
  // spoke plain HTTP to a TLS port), under the deadline.
  boost::asio::awaitable<void> write_unencrypted(boost::asio::const_buffer bytes, boost::system::error_code& ec);

  bool is_tls() const noexcept { return tls_.has_value(); }
  // Puts TLS over the connection (before its handshake). `context` lives as long as the stream, so a
  // reload that replaces the certificate never pulls it from under an open connection.
  tls_stream_type& start_tls(std::shared_ptr<boost::asio::ssl::context> context) {
    context_ = std::move(context);
    return tls_.emplace(socket_, *context_);
  }
  tls_stream_type* tls() noexcept { return tls_ ? &*tls_ : nullptr; }

  // Reads and writes go through one type-erased, out-of-line function per direction: Beast's composed
  // operations call these with a different handler type at every call site, and instantiating the
  // deadline's bookkeeping and OpenSSL's record state machine for each of them made the gateway's
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

  // Writes all of `buffers` (as net::async_write does), under the deadline. On plain TCP one non-blocking
  // send comes first: a request or answer that fits the socket's buffer, nearly every one, is then written
  // without an asynchronous operation, whose completion Asio posts even when the send succeeded at once
  // (a trip through the scheduler, and an epoll_wait, per write). Only the rest, if any, waits.
  template <std::size_t N>
  boost::asio::awaitable<void> write_all(const std::array<boost::asio::const_buffer, N>& buffers,
                                         boost::system::error_code& ec) {
    static_assert(N <= kMaxBuffers, "write_all takes at most kMaxBuffers pieces");
    return write_all_pieces(first_buffers<boost::asio::const_buffer>(buffers), ec);
  }

  // Ends the connection politely: TLS sends its close_notify (waiting at most `limit` for the peer's),
  // plain TCP shuts down its sending side; then closes.
  boost::asio::awaitable<void> shutdown_and_close(std::chrono::steady_clock::duration limit);

 private:
  // Up to this many buffers of a sequence go into one TLS read or write; the *_some operations may move
  // fewer bytes than asked, and the composed operations calling them loop for the rest.
  static constexpr std::size_t kMaxBuffers = 16;
  // The non-empty buffers of a sequence, as a buffer sequence of exactly those (a system call is given
  // no empty iovec entries; one buffer goes to recv/send rather than recvmsg/sendmsg).
  template <class Buffer>
  struct BufferArray {
    std::array<Buffer, kMaxBuffers> items{};
    std::size_t count = 0;
    const Buffer* begin() const noexcept { return items.data(); }
    const Buffer* end() const noexcept { return items.data() + count; }
    std::size_t size() const noexcept {
      std::size_t n = 0;
      for (std::size_t i = 0; i < count; ++i) n += items[i].size();
      return n;
    }
  };
  using IoHandler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  template <class Buffer, class Sequence>
  static BufferArray<Buffer> first_buffers(const Sequence& seq) {
    BufferArray<Buffer> out;
    for (auto it = boost::asio::buffer_sequence_begin(seq), end = boost::asio::buffer_sequence_end(seq);
         it != end && out.count < kMaxBuffers; ++it) {
      Buffer b(*it);
      if (b.size() != 0) out.items[out.count++] = b;
    }
    return out;
  }
  void erased_read_some(BufferArray<boost::asio::mutable_buffer> buffers, IoHandler handler);
  void erased_write_some(BufferArray<boost::asio::const_buffer> buffers, IoHandler handler);
  // Bytes sent at once without blocking (0 when the socket's buffer is full; `ec` when the send failed).
  std::size_t send_now(const BufferArray<boost::asio::const_buffer>& buffers, boost::system::error_code& ec);
  boost::asio::awaitable<void> write_all_pieces(BufferArray<boost::asio::const_buffer> buffers,
                                                boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  ConnectionDeadline deadline_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::optional<tls_stream_type> tls_;
};

}  // namespace slipway
