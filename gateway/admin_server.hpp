// The admin listener, on the control thread's io_context (never on a worker, so neither a scrape nor an
// admin call delays a request). Routing only; each path's answer lives in its own file:
//   GET /metrics            Prometheus text format (Metrics)                       no token
//   GET /healthz, /readyz   as on the main listener (local_endpoints)              no token
//   GET /status             the status page, GET /status.json its data (status_page, status_history)   no token
//   /admin/...              the admin API (admin_api): Authorization: Bearer <admin.token_env / token_file>
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "gateway/admin_api.hpp"
#include "gateway/log.hpp"
#include "gateway/metrics.hpp"
#include "gateway/rollout_control.hpp"
#include "gateway/runtime.hpp"
#include "gateway/status_history.hpp"
#include "gateway/tls_context.hpp"

namespace slipway {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ioc, SnapshotStore& store, const Metrics& metrics, const Log& log);
  // Binds and listens (throws on failure), logs the "listening" line with listener "admin", starts accepting
  // and sampling the status page's history (every StatusHistory::kInterval).
  void start(const config::Admin& where);
  void close();
  uint16_t port() const { return port_; }
  // The rollout service the admin API and the status page act on (control thread). Until it is set,
  // /admin/v1/* answers 503 and the status page shows the configured weights.
  void set_rollout_control(RolloutControl* control) { control_ = control; }
  // The listener's TLS context comes from here at each accept (admin.tls; re-read on reload). Unset: plain.
  void set_tls(const TlsContexts* tls) { tls_ = tls; }

  // One request's answer (exposed for tests). `client`: the peer's "address:port".
  AdminResponse answer(const AdminRequest& req, std::string_view client);

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> sample_loop();
  void take_sample();

  boost::asio::io_context& ioc_;
  SnapshotStore& store_;
  const Metrics& metrics_;
  const Log& log_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sample_timer_;
  uint16_t port_ = 0;
  AdminApi api_;
  RolloutControl* control_ = nullptr;
  const TlsContexts* tls_ = nullptr;
  StatusHistory history_;
};

}  // namespace slipway
