#include "gateway/admin_server.hpp"

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/http_util.hpp"
#include "gateway/local_endpoints.hpp"

namespace slipway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

AdminServer::AdminServer(net::io_context& ioc, SnapshotStore& store, const Metrics& metrics, const Log& log)
    : ioc_(ioc), store_(store), metrics_(metrics), log_(log), acceptor_(ioc) {}

void AdminServer::start(const config::Admin& where) {
  tcp::endpoint ep(net::ip::make_address(where.address), where.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  log_.write(LogLevel::info, "listening",
             {{"listener", "admin"}, {"address", ep.address().to_string()}, {"port", port_},
              {"paths", boost::json::array{"/metrics", "/healthz", "/readyz"}}});
  net::co_spawn(ioc_, accept_loop(), net::detached);
}

void AdminServer::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
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

net::awaitable<void> AdminServer::session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
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
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    http::response<http::string_body> res{http::status::ok, req.version()};
    bool get = req.method() == http::verb::get;
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
      if (!get) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET");
        res.set(http::field::content_type, "application/json");
        res.body() = openai_error_body("Use GET on " + std::string(path) + ".", "invalid_request_error", "", "method_not_allowed");
      } else if (path == "/metrics") {
        res.set(http::field::content_type, Metrics::kContentType);
        res.body() = metrics_.scrape();
      } else {
        auto snap = store_.current();
        LocalAnswer a = answer_local_endpoint(path == "/healthz" ? LocalEndpoint::healthz : LocalEndpoint::readyz,
                                              *snap, req, path);
        res.result(static_cast<http::status>(a.status));
        res.set(http::field::content_type, a.content_type);
        res.body() = std::move(a.body);
      }
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "application/json");
      res.body() = openai_error_body("Unknown admin path " + std::string(path) + "; this listener serves /metrics, "
                                     "/healthz and /readyz.", "invalid_request_error", "", "not_found");
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || !req.keep_alive()) co_return;
  }
}

}  // namespace slipway
