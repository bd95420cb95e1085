// The gateway process: worker threads (one io_context each, one SO_REUSEPORT acceptor each, their own
// upstream pools), and a control thread that owns signals, hot reload and active health checks.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/alerting.hpp"
#include "gateway/log.hpp"
#include "gateway/metrics.hpp"
#include "gateway/rollout_service.hpp"
#include "gateway/runtime.hpp"
#include "gateway/tls_context.hpp"
#include "gateway/worker_context.hpp"

namespace slipway {

struct ServerOptions {
  std::string config_path;          // empty: the embedded demo config
  std::string config_text;          // the text the first snapshot was parsed from
  int threads = 0;                  // overrides the config's `threads` when > 0
  std::chrono::seconds drain_timeout{30};
};

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<const config::Config> initial);
  ~Server();
  // Runs until SIGINT/SIGTERM, then drains in-flight requests. Returns the process exit code.
  int run();

 private:
  struct Worker;
  void open_listeners();
  void begin_drain();

  ServerOptions options_;
  Log log_;
  TlsContexts tls_{log_};           // listeners' certificates and the upstream client context, per reload
  EndpointRegistry registry_;
  SnapshotStore store_{registry_};
  GatewayCounters counters_;
  boost::asio::io_context control_{1};
  Metrics metrics_{store_, counters_};
  AlertNotifier alerts_{control_.get_executor(), log_};
  RolloutService rollout_{control_, store_, log_, alerts_};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace slipway
