// Active health checks: every health.check_interval, GET health.check_path on every endpoint of the
// current snapshot, from the control thread. Feeds EndpointState::record_probe (and so /readyz).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "gateway/log.hpp"
#include "gateway/runtime.hpp"
#include "gateway/tls_context.hpp"

namespace slipway {

// https:// endpoints are probed over TLS with `tls`'s upstream context (verified like requests).
boost::asio::awaitable<void> run_health_checks(SnapshotStore& store, const Log& log, const TlsContexts& tls);

}  // namespace slipway
