// Keep-alive connections to backend endpoints, one pool per worker thread (shared-nothing), and the
// least-outstanding choice of endpoint within a variant.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "gateway/log.hpp"
#include "gateway/runtime.hpp"
#include "gateway/tls_context.hpp"
#include "gateway/tls_stream.hpp"

namespace slipway {

struct UpstreamConnection {
  // Beast reads at most the buffer's free capacity, and at least 512 bytes: from an empty buffer a
  // response head plus a small JSON body (a chat completion: ~650 bytes) took two recv calls. 4 KiB
  // takes a typical answer in one (measured: 3 -> 2 recvmsg per proxied chat request).
  static constexpr std::size_t kInitialReadBytes = 4 * 1024;
  // A whole (non-streamed) answer is read with this much room: a structured-output answer of 4 KiB plus its
  // head took two recv calls from 4 KiB (haproxy reads up to its 16 KiB bufsize at once). A stream gives the
  // room back when it starts (relay.cpp), so a slow stream on a pooled connection still holds 4 KiB.
  static constexpr std::size_t kWholeAnswerReadBytes = 16 * 1024;
  explicit UpstreamConnection(const boost::asio::any_io_executor& ex) : stream(ex) { buffer.reserve(kInitialReadBytes); }
  // Before reading a whole answer's head: room for the answer in the same recv.
  void make_room_for_whole_answer() { buffer.reserve(kWholeAnswerReadBytes); }
  // When a stream starts: back to the small buffer, keeping the bytes already read (the first events often
  // come with the head). A stream that turns out fast grows it again (relay.cpp, grow_for_fast_stream).
  void shrink_for_stream();
  TcpOrTlsStream stream;             // TLS for https:// endpoints
  boost::beast::flat_buffer buffer;   // the response head as read, and bytes past it
  std::string endpoint_label;
  Clock::time_point idle_since{};
  bool reused = false;                // came from the pool: may have been closed by the backend meanwhile
};

class UpstreamPool {
 public:
  explicit UpstreamPool(boost::asio::any_io_executor ex, std::size_t max_idle_per_endpoint = 128)
      : executor_(std::move(ex)), max_idle_(max_idle_per_endpoint) {}

  // https:// endpoints: their client context (null: such endpoints cannot be reached) and where a failed
  // handshake is logged. Set once, before the first acquire.
  void use_tls(const TlsContexts* contexts, const Log* log) {
    tls_ = contexts;
    log_ = log;
  }
  // A pooled connection to `ep` if one is alive, else a new one (connect, and the TLS handshake of an
  // https:// endpoint, bounded by `connect_timeout`). On failure returns null and sets `ec`.
  boost::asio::awaitable<std::unique_ptr<UpstreamConnection>> acquire(const EndpointState& ep,
                                                                      Clock::duration connect_timeout,
                                                                      boost::system::error_code& ec);
  // Hands back a connection whose last response was read whole and allows keep-alive.
  void release(std::unique_ptr<UpstreamConnection> conn);
  // Drops idle connections (on shutdown).
  void clear() { idle_.clear(); }

 private:
  boost::asio::any_io_executor executor_;
  std::size_t max_idle_;
  const TlsContexts* tls_ = nullptr;
  const Log* log_ = nullptr;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

// The usable endpoint with the fewest requests in flight (ties broken round-robin via `rotor`),
// preferring any endpoint other than `avoid`. Null when no endpoint is usable.
EndpointState* pick_endpoint(const VariantRuntime& variant, Clock::time_point now, const EndpointState* avoid,
                             unsigned& rotor);

}  // namespace slipway
