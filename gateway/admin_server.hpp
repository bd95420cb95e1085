// The admin listener: GET /metrics (Prometheus text format, not token-protected so that Prometheus can
// scrape it), /healthz and /readyz (as on the main listener). It runs on the control thread's
// io_context, never on a worker, so a scrape never delays a request. Later admin API endpoints will
// require `Authorization: Bearer <admin token>` (config admin.token_env).
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "gateway/metrics.hpp"
#include "gateway/runtime.hpp"

namespace slipway {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ioc, SnapshotStore& store, const Metrics& metrics, const Log& log);
  // Binds and listens (throws on failure), logs the "listening" line with listener "admin", starts accepting.
  void start(const config::Admin& where);
  void close();
  uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  SnapshotStore& store_;
  const Metrics& metrics_;
  const Log& log_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace slipway
