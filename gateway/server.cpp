#include "gateway/server.hpp"

#include <sys/socket.h>

#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include "gateway/admin_server.hpp"
#include "gateway/config_reloader.hpp"
#include "gateway/health_checker.hpp"
#include "gateway/session.hpp"

namespace slipway {

const char* version();

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Worker {
  Worker(int index, SnapshotStore& store, const Log& log, GatewayCounters& counters, const TlsContexts& tls)
      : index(index), acceptor(ioc), ctx(ioc.get_executor(), store, log, counters, fresh_seed()), tls(tls) {
    ctx.pool.use_tls(&tls, &log);
  }

  // Request ids and random split points must differ across workers and restarts.
  static uint64_t fresh_seed() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;  // EMFILE and friends: keep serving the connections we have
      }
      auto max = ctx.store.current()->config->limits.max_connections;
      if (static_cast<std::size_t>(ctx.counters.connections.load(std::memory_order_relaxed)) >= max) {
        ctx.log.write(LogLevel::warn, "connection_refused", {{"reason", "limits.max_connections reached"}});
        continue;  // the socket closes as it goes out of scope
      }
      net::co_spawn(ioc, run_session(ctx, std::move(socket), tls.main_listener()), [this](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          ctx.log.write(LogLevel::error, "session_failed", {{"what", ex.what()}});
        }
      });
    }
  }

  int index;
  net::io_context ioc{1};
  tcp::acceptor acceptor;
  WorkerContext ctx;
  const TlsContexts& tls;
  std::thread thread;
};

Server::Server(ServerOptions options, std::shared_ptr<const config::Config> initial) : options_(std::move(options)) {
  log_.set_level(parse_log_level(initial->log_level));
  store_.publish(std::move(initial));
  tls_.apply(*store_.current()->config);
  global_metrics() = &metrics_;
  // Before any listener opens: a restart restores a latched rollback, so no request reaches that canary.
  alerts_.configure(store_.current()->config->alerting);
  rollout_.apply_config(*store_.current()->config);
  metrics_.add_collectable(rollout_.collector());
}

Server::~Server() {
  for (auto& w : workers_) {
    w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

void Server::open_listeners() {
  const auto& cfg = *store_.current()->config;
  int threads = options_.threads > 0 ? options_.threads : cfg.threads;
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  tcp::endpoint where(net::ip::make_address(cfg.listen.address), cfg.listen.port);
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(i, store_, log_, counters_, tls_);
    w->ctx.metrics = &metrics_.add_shard();
    w->ctx.metrics_all = &metrics_;
    w->ctx.control = control_.get_executor();
    w->ctx.rollout = &rollout_;
    w->acceptor.open(where.protocol());
    w->acceptor.set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    ::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    w->acceptor.bind(where);
    w->acceptor.listen(net::socket_base::max_listen_connections);
    // Port 0: the first bind picks the port, the other workers share it.
    if (i == 0) where.port(w->acceptor.local_endpoint().port());
    workers_.push_back(std::move(w));
  }
  log_.write(LogLevel::info, "listening",
             {{"listener", "main"}, {"address", where.address().to_string()}, {"port", where.port()},
              {"tls", tls_.main_listener() != nullptr},
              {"threads", threads}, {"version", version()}, {"config", store_.current()->config->source},
              {"generation", store_.current()->config->generation}});
}

void Server::begin_drain() {
  counters_.draining.store(true);
  for (auto& w : workers_)
    net::post(w->ioc, [w = w.get()] {
      boost::system::error_code ec;
      w->acceptor.close(ec);
    });
}

int Server::run() {
  try {
    open_listeners();
  } catch (const std::exception& e) {
    log_.write(LogLevel::error, "listen_failed", {{"what", e.what()}});
    return 1;
  }
  for (auto& w : workers_) {
    net::co_spawn(w->ioc, w->accept_loop(), net::detached);
    w->thread = std::thread([w = w.get()] {
      auto guard = net::make_work_guard(w->ioc);
      w->ioc.run();
    });
  }

  // The admin listener (/metrics, /healthz, /readyz) on the control thread; read at start only, like listen.
  AdminServer admin(control_, store_, metrics_, log_);
  admin.set_rollout_control(&rollout_);
  admin.set_tls(&tls_);
  if (const auto& where = store_.current()->config->admin) {
    try {
      admin.start(*where);
    } catch (const std::exception& e) {
      log_.write(LogLevel::error, "listen_failed", {{"listener", "admin"}, {"what", e.what()}});
      for (auto& w : workers_) w->ioc.stop();
      for (auto& w : workers_)
        if (w->thread.joinable()) w->thread.join();
      return 1;
    }
  }

  ConfigReloader reloader(control_, store_, log_, options_.config_path, options_.config_text);
  reloader.on_applied([this](const config::Config& cfg) {
    tls_.apply(cfg);  // new certificate files: new connections get them
    alerts_.configure(cfg.alerting);
    rollout_.apply_config(cfg);
  });
  reloader.start();
  rollout_.start();
  net::co_spawn(control_, run_health_checks(store_, log_, tls_), net::detached);

  net::signal_set reload_signal(control_, SIGHUP);
  std::function<void()> arm_reload = [&] {
    reload_signal.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      reloader.reload("sighup");
      arm_reload();
    });
  };
  arm_reload();

  net::signal_set stop_signals(control_, SIGINT, SIGTERM);
  net::steady_timer drain_timer(control_);
  Clock::time_point drain_deadline{};
  std::function<void()> check_drained = [&] {
    if (counters_.in_flight.load() == 0 || Clock::now() >= drain_deadline) {
      log_.write(LogLevel::info, "stopped", {{"in_flight_abandoned", counters_.in_flight.load()}});
      control_.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) check_drained();
    });
  };
  stop_signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log_.write(LogLevel::info, "draining", {{"signal", sig}, {"in_flight", counters_.in_flight.load()},
                                           {"timeout_s", static_cast<int64_t>(options_.drain_timeout.count())}});
    begin_drain();
    admin.close();
    drain_deadline = Clock::now() + options_.drain_timeout;
    check_drained();
    // A second signal stops at once.
    stop_signals.async_wait([&](boost::system::error_code ec2, int) {
      if (!ec2) control_.stop();
    });
  });

  control_.run();
  rollout_.stop();
  for (auto& w : workers_) w->ioc.stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  return 0;
}

}  // namespace slipway
