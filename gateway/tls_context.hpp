// TLS contexts built from the config (docs/tls.md): the main and admin listeners' server contexts
// (certificate chain and key, TLS 1.2 at least, ALPN http/1.1) and the client context for https://
// endpoints (peer verification against upstream_tls.ca_file or the system's trust store, unless
// insecure_skip_verify). Rebuilt after every applied reload; each new connection takes the current one,
// an open connection keeps the one it started with.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "gateway/tls_stream.hpp"

namespace slipway {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Null and `error` set when OpenSSL refuses the material (the config parser has checked it already).
TlsContextPtr make_server_tls_context(const config::ServerTls& tls, std::string& error);
TlsContextPtr make_client_tls_context(const config::UpstreamTls& tls, std::string& error);

// Before a client handshake: SNI (host names only, never an IP address) and the name or address the
// server's certificate must carry when `verify`.
void prepare_client_handshake(TcpOrTlsStream::tls_stream_type& tls, const std::string& host, bool verify);

// Why a handshake failed, in words: the certificate check's verdict when there is one ("certificate has
// expired", "hostname mismatch", "IP address mismatch"), else OpenSSL's or the socket's reason.
std::string tls_failure_reason(const boost::system::error_code& ec, TcpOrTlsStream::tls_stream_type* tls);
// A client that sent plain HTTP to a TLS port (it can still be answered in plain HTTP).
bool is_plain_http_on_tls_port(const boost::system::error_code& ec);
// One line per failed handshake. `side`: "main" / "admin" (a client of that listener, `peer` its address) or
// "upstream" (`peer` the endpoint).
void log_tls_handshake_failure(const Log& log, std::string_view side, const std::string& peer,
                               const std::string& reason);

class TlsContexts {
 public:
  explicit TlsContexts(const Log& log) : log_(log) {}
  // Builds the contexts `cfg` asks for (control thread: at start and after each applied reload). A part
  // that fails keeps its previous context and is logged as an error.
  void apply(const config::Config& cfg);
  // Null: that side is plain (listener without tls, no https:// endpoint).
  TlsContextPtr main_listener() const { return main_.load(std::memory_order_acquire); }
  TlsContextPtr admin_listener() const { return admin_.load(std::memory_order_acquire); }
  TlsContextPtr upstream() const { return upstream_.load(std::memory_order_acquire); }
  bool upstream_verifies() const { return upstream_verify_.load(std::memory_order_acquire); }

 private:
  const Log& log_;
  std::atomic<TlsContextPtr> main_, admin_, upstream_;
  std::atomic<bool> upstream_verify_{true};
  // What the current contexts were built from: an unchanged part is not rebuilt (sessions stay resumable).
  std::optional<config::ServerTls> main_from_, admin_from_;
  std::optional<config::UpstreamTls> upstream_from_;
};

}  // namespace slipway
