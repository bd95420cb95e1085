#include "gateway/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/error.hpp>

namespace slipway {

namespace net = boost::asio;
namespace ssl = net::ssl;

namespace {

// ALPN: we speak HTTP/1.1 only. A client that offers only h2 gets no ALPN answer (not a failed handshake)
// and then its HTTP/1.1 fallback, or a clear parse error.
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                  void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string error_text(const boost::system::error_code& ec) {
  ERR_clear_error();
  return ec.message();
}

}  // namespace

TlsContextPtr make_server_tls_context(const config::ServerTls& tls, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use, ec);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_http11, nullptr);
  ctx->use_certificate_chain(net::buffer(tls.cert_pem), ec);
  if (ec) {
    error = "certificate " + tls.cert_file + ": " + error_text(ec);
    return nullptr;
  }
  ctx->use_private_key(net::buffer(tls.key_pem), ssl::context::pem, ec);
  if (ec) {
    error = "key " + tls.key_file + ": " + error_text(ec);
    return nullptr;
  }
  return ctx;
}

TlsContextPtr make_client_tls_context(const config::UpstreamTls& tls, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression, ec);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);
  if (tls.insecure_skip_verify) {
    ctx->set_verify_mode(ssl::verify_none, ec);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (!tls.ca_pem.empty()) ctx->add_certificate_authority(net::buffer(tls.ca_pem), ec);
  else ctx->set_default_verify_paths(ec);
  if (ec) {
    error = (tls.ca_file.empty() ? std::string("system trust store") : "ca_file " + tls.ca_file) + ": " + error_text(ec);
    return nullptr;
  }
  return ctx;
}

void prepare_client_handshake(TcpOrTlsStream::tls_stream_type& tls, const std::string& host, bool verify) {
  SSL* ssl = tls.native_handle();
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  const bool is_address = !ec;
  if (!is_address) SSL_set_tlsext_host_name(ssl, host.c_str());  // RFC 6066: no SNI for an IP address
  if (!verify) return;
  // OpenSSL checks the name during verification, so a mismatch has its own verify result (and reason).
  if (is_address) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  else SSL_set1_host(ssl, host.c_str());
}

std::string tls_failure_reason(const boost::system::error_code& ec, TcpOrTlsStream::tls_stream_type* tls) {
  if (tls) {
    long verdict = SSL_get_verify_result(tls->native_handle());
    if (verdict != X509_V_OK) return X509_verify_cert_error_string(verdict);
  }
  if (ec == boost::beast::error::timeout) return "handshake timed out";
  if (ec == net::ssl::error::stream_truncated || ec == net::error::eof) return "connection closed during the handshake";
  return ec.message();
}

bool is_plain_http_on_tls_port(const boost::system::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() && ERR_GET_REASON(ec.value()) == SSL_R_HTTP_REQUEST;
}

void TlsContexts::apply(const config::Config& cfg) {
  auto server = [&](const std::optional<config::ServerTls>& want, std::optional<config::ServerTls>& from,
                    std::atomic<TlsContextPtr>& slot, std::string_view listener) {
    if (want == from) return;
    if (!want) {
      slot.store(nullptr, std::memory_order_release);
      from.reset();
      return;
    }
    std::string error;
    if (auto ctx = make_server_tls_context(*want, error)) {
      slot.store(std::move(ctx), std::memory_order_release);
      from = want;
      log_.write(LogLevel::info, "tls_certificate_loaded",
                 {{"listener", listener}, {"cert_file", want->cert_file}, {"key_file", want->key_file}});
    } else {
      log_.write(LogLevel::error, "tls_context_failed", {{"listener", listener}, {"error", error}});
    }
  };
  server(cfg.listen.tls, main_from_, main_, "main");
  server(cfg.admin ? cfg.admin->tls : std::nullopt, admin_from_, admin_, "admin");

  bool any_https = false;
  for (const auto& m : cfg.models)
    for (const auto* v : {&m.baseline, m.canary ? &*m.canary : nullptr})
      if (v)
        for (const auto& ep : v->endpoints) any_https = any_https || ep.tls;
  if (!any_https) {
    upstream_.store(nullptr, std::memory_order_release);
    upstream_from_.reset();
    return;
  }
  if (upstream_from_ == cfg.upstream_tls) return;
  std::string error;
  if (auto ctx = make_client_tls_context(cfg.upstream_tls, error)) {
    upstream_verify_.store(!cfg.upstream_tls.insecure_skip_verify, std::memory_order_release);
    upstream_.store(std::move(ctx), std::memory_order_release);
    upstream_from_ = cfg.upstream_tls;
    if (cfg.upstream_tls.insecure_skip_verify)
      log_.write(LogLevel::warn, "upstream_tls_insecure",
                 {{"message", "upstream_tls.insecure_skip_verify is true: https:// endpoints are not verified "
                              "(any certificate, any name); use it only for testing"}});
  } else {
    log_.write(LogLevel::error, "tls_context_failed", {{"listener", "upstream"}, {"error", error}});
  }
}

void log_tls_handshake_failure(const Log& log, std::string_view side, const std::string& peer,
                               const std::string& reason) {
  // A client's failed handshake is the client's business (scanners, plain HTTP): info. An upstream's is ours: warn.
  if (side == "upstream")
    log.write(LogLevel::warn, "tls_handshake_failed", {{"side", "upstream"}, {"endpoint", peer}, {"reason", reason}});
  else
    log.write(LogLevel::info, "tls_handshake_failed",
              {{"side", "client"}, {"listener", side}, {"peer", peer}, {"reason", reason}});
}

}  // namespace slipway
