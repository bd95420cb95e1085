#include "gateway/admin_server.hpp"

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/http_util.hpp"
#include "gateway/local_endpoints.hpp"
#include "gateway/status_page.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

AdminServer::AdminServer(net::io_context& ioc, SnapshotStore& store, const Metrics& metrics, const Log& log)
    : ioc_(ioc), store_(store), metrics_(metrics), log_(log), acceptor_(ioc), sample_timer_(ioc), api_(log) {}

void AdminServer::start(const config::Admin& where) {
  tcp::endpoint ep(net::ip::make_address(where.address), where.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  log_.write(LogLevel::info, "listening",
             {{"listener", "admin"}, {"address", ep.address().to_string()}, {"port", port_},
              {"tls", tls_ && tls_->admin_listener() != nullptr},
              {"paths", boost::json::array{"/metrics", "/healthz", "/readyz", "/status", "/status.json", "/admin/v1/"}},
              {"admin_api", where.token && !where.token->empty() ? "token configured" : "disabled (no token configured)"}});
  net::co_spawn(ioc_, accept_loop(), net::detached);
  net::co_spawn(ioc_, sample_loop(), net::detached);
}

void AdminServer::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  sample_timer_.cancel();
}

void AdminServer::take_sample() { history_.add(unix_ms_now(), metrics_.series_totals()); }

net::awaitable<void> AdminServer::sample_loop() {
  take_sample();  // the window starts when the listener does
  for (;;) {
    sample_timer_.expires_after(StatusHistory::kInterval);
    boost::system::error_code ec;
    co_await sample_timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec || !acceptor_.is_open()) co_return;
    take_sample();
  }
}

net::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    net::co_spawn(ioc_, session(std::move(socket)), net::detached);
  }
}

AdminResponse AdminServer::answer(const AdminRequest& req, std::string_view client) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  auto snap = store_.current();
  if (is_admin_api_path(path)) {
    const auto& admin = snap->config->admin;
    return api_.answer(req, admin ? admin->token : std::nullopt, control_, client);
  }

  AdminResponse res{http::status::ok, req.version()};
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz" || path == "/status" ||
                     path == "/status.json";
  if (known && req.method() != http::verb::get) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET");
    res.set(http::field::content_type, "application/json");
    res.body() = openai_error_body("Use GET on " + std::string(path) + ".", "invalid_request_error", "", "method_not_allowed");
  } else if (path == "/metrics") {
    res.set(http::field::content_type, Metrics::kContentType);
    res.body() = metrics_.scrape();
  } else if (path == "/status" || path == "/status.json") {
    auto doc = status_document(*snap, control_, history_, metrics_.series_totals(), unix_ms_now());
    res.set(http::field::cache_control, "no-store");
    if (path == "/status") {
      res.set(http::field::content_type, "text/html; charset=utf-8");
      // The page has no external assets; forbid any, and any framing.
      res.set("Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; "
              "img-src data:; frame-ancestors 'none'");
      res.body() = status_page_html(doc);
    } else {
      res.set(http::field::content_type, "application/json");
      res.body() = boost::json::serialize(doc);
    }
  } else if (known) {
    LocalAnswer a = answer_local_endpoint(path == "/healthz" ? LocalEndpoint::healthz : LocalEndpoint::readyz, *snap, req, path);
    // Fleet mode: whether this replica sees the fleet's store (docs/fleet.md). It stays ready without it.
    if (path == "/readyz" && control_)
      if (auto st = control_->state(); const auto* fleet = st.if_contains("fleet")) {
        auto doc = boost::json::parse(a.body).as_object();
        doc["fleet"] = *fleet;
        a.body = boost::json::serialize(doc);
      }
    res.result(static_cast<http::status>(a.status));
    res.set(http::field::content_type, a.content_type);
    res.body() = std::move(a.body);
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "application/json");
    res.body() = openai_error_body("Unknown admin path " + std::string(path.substr(0, 256)) + "; this listener serves "
                                   "/metrics, /healthz, /readyz, /status, /status.json and /admin/v1/.",
                                   "invalid_request_error", "", "not_found");
  }
  return res;
}

net::awaitable<void> AdminServer::session(tcp::socket socket) {
  boost::system::error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec);
  const std::string client = peer_ec ? "unknown" : peer.address().to_string() + ":" + std::to_string(peer.port());
  TcpOrTlsStream stream(std::move(socket));
  if (TlsContextPtr tls = tls_ ? tls_->admin_listener() : nullptr) {
    boost::system::error_code ec;
    const auto& admin_cfg = store_.current()->config->admin;
    stream.expires_after(admin_cfg && admin_cfg->tls ? admin_cfg->tls->handshake_timeout
                                                     : config::ServerTls{}.handshake_timeout);
    stream.start_tls(std::move(tls));
    co_await stream.handshake(net::ssl::stream_base::server, ec);
    if (ec) {
      log_tls_handshake_failure(log_, "admin", client, tls_failure_reason(ec, stream.tls()));
      co_return;
    }
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    auto& req = parser.get();
    AdminResponse res = answer(req, client);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || !req.keep_alive()) co_return;
  }
}

}  // namespace slipway
