// Active health checks: every health.check_interval, GET health.check_path on every endpoint of the
// current snapshot, from the control thread. Feeds EndpointState::record_probe (and so /readyz).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "gateway/log.hpp"
#include "gateway/runtime.hpp"

namespace slipway {

boost::asio::awaitable<void> run_health_checks(SnapshotStore& store, const Log& log);

}  // namespace slipway
