// What one worker thread owns: its io_context's executor, its upstream pool, its JSON parsers and
// RNG. Nothing here is shared with another worker except through the snapshot store and the log.
#pragma once

#include <atomic>
#include <random>

#include <boost/asio/any_io_executor.hpp>
#include <simdjson.h>

#include "gateway/log.hpp"
#include "gateway/runtime.hpp"
#include "gateway/client_watch.hpp"
#include "gateway/upstream_pool.hpp"
#include "validators/validator.hpp"

namespace slipway {

class MetricsShard;
class Metrics;
class RolloutService;

struct GatewayCounters {
  std::atomic<int> in_flight{0};       // requests being handled, all workers
  std::atomic<int> open_streams{0};
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
};

struct WorkerContext {
  WorkerContext(boost::asio::any_io_executor ex, SnapshotStore& store, const Log& log, GatewayCounters& counters,
                uint64_t seed)
      : executor(ex), store(store), log(log), counters(counters), pool(ex), watch_starter(ex), rng(seed) {}

  boost::asio::any_io_executor executor;
  SnapshotStore& store;
  const Log& log;
  GatewayCounters& counters;
  UpstreamPool pool;
  ClientWatchStarter watch_starter;     // starts client watches of requests that wait on their backend
  simdjson::dom::parser request_json;   // request bodies (depth-limited)
  std::size_t request_json_depth = 0;
  simdjson::dom::parser event_json;     // SSE event payloads
  std::mt19937_64 rng;
  unsigned rotor = 0;                   // round-robin tie-break between equally loaded endpoints
  MetricsShard* metrics = nullptr;      // this worker's metric cells (null in tools and tests)
  const Metrics* metrics_all = nullptr; // for GET /metrics on the main listener (metrics_on_main)
  boost::asio::any_io_executor control; // the control thread, where a scrape runs
  RolloutService* rollout = nullptr;    // the rollback judge's inbox (null in tools and tests)
  std::unique_ptr<validators::Validator> validator;
  config::Validation validator_settings;

  // This worker's validator, rebuilt when a reload changes the validation settings.
  validators::Validator& validator_for(const config::Validation& v);

  double random_point() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
};

}  // namespace slipway
