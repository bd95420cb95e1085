// The runtime snapshot: an immutable config plus the live state of every endpoint it names.
// Published through SnapshotStore (an atomic shared_ptr); a request keeps the snapshot it started with.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "gateway/split.hpp"

namespace slipway {

using Clock = std::chrono::steady_clock;

// Health and load of one backend endpoint, shared by all worker threads (relaxed atomics only) and
// kept across reloads as long as the endpoint stays in the config.
class EndpointState {
 public:
  explicit EndpointState(config::Endpoint ep)
      : endpoint_(std::move(ep)), label_(endpoint_.label()), head_end_("Host: " + endpoint_.authority() + "\r\n\r\n") {}

  const config::Endpoint& endpoint() const { return endpoint_; }
  const std::string& label() const { return label_; }
  // What ends an upstream request's head sent to this endpoint: its Host field and the blank line. The rest
  // of the head is built once per request, before the endpoint is picked (upstream_request.hpp).
  const std::string& head_end() const { return head_end_; }

  enum class Probe { unknown = 0, up = 1, down = 2 };

  // Usable for traffic: not ejected by passive health and not known down by the active check.
  bool usable(Clock::time_point now) const;
  // Counts as a healthy endpoint for /readyz: the active check saw it up (or checks are off and it is usable).
  bool ready(Clock::time_point now, bool active_checks) const;

  void record_success();
  // Returns true when this failure ejected the endpoint.
  bool record_failure(const config::HealthPolicy& policy, Clock::time_point now);
  // One probe's result. Down only after kProbeFailuresBeforeDown failures in a row, so one slow answer from a
  // busy backend does not take it out of rotation; up again after one success.
  void record_probe(bool ok);
  static constexpr int kProbeFailuresBeforeDown = 2;
  // Claims the right to run a probe; false while one is still under way (a hung backend must not
  // pile up probes).
  bool begin_probe() { return !probing_.exchange(true, std::memory_order_acq_rel); }
  void end_probe() { probing_.store(false, std::memory_order_release); }
  Probe probe() const { return static_cast<Probe>(probe_.load(std::memory_order_relaxed)); }

  int outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  void begin_request() { outstanding_.fetch_add(1, std::memory_order_relaxed); }
  void end_request() { outstanding_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  config::Endpoint endpoint_;
  std::string label_;
  std::string head_end_;
  std::atomic<int> outstanding_{0};
  std::atomic<int> consecutive_failures_{0};
  std::atomic<int64_t> ejected_until_ns_{0};
  std::atomic<int> probe_{0};
  std::atomic<int> probe_failures_{0};
  std::atomic<bool> probing_{false};
};

struct VariantRuntime {
  VariantKind kind = VariantKind::baseline;
  const config::Variant* config = nullptr;
  std::vector<std::shared_ptr<EndpointState>> endpoints;
};

struct ModelRuntime {
  const config::Model* config = nullptr;
  VariantRuntime baseline;
  std::optional<VariantRuntime> canary;
  // The share the split uses: the configured canary.weight unless the rollout controller set another
  // (0 after a rollback, a progressive step, an operator's override).
  double canary_weight_percent = 0.0;
  const VariantRuntime& variant(VariantKind k) const { return k == VariantKind::canary && canary ? *canary : baseline; }
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<ModelRuntime> models;
  const ModelRuntime* find_model(std::string_view name) const;
  // Every model has at least one ready baseline endpoint.
  bool ready(Clock::time_point now) const;
};

// Owns endpoint states across reloads so that health and in-flight counts survive a config change.
class EndpointRegistry {
 public:
  std::shared_ptr<EndpointState> get(const config::Endpoint& ep);
  // Forget endpoints no snapshot refers to any more.
  void prune();
  std::vector<std::shared_ptr<EndpointState>> all();

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<EndpointState>> by_label_;
};

class SnapshotStore {
 public:
  explicit SnapshotStore(EndpointRegistry& registry) : registry_(registry) {}
  std::shared_ptr<const Snapshot> current() const {
    std::lock_guard lock(current_mutex_);
    return current_;
  }
  // Builds the runtime for a validated config and publishes it atomically. Sets its generation.
  std::shared_ptr<const Snapshot> publish(std::shared_ptr<const config::Config> cfg);
  // Canary weights decided by the rollout controller, by model name; a model not listed gets its configured
  // weight. Republishes the current config at once (same generation: only the weights change), and every
  // later publish() applies them too, so a reload never lets a rolled-back canary back in.
  std::shared_ptr<const Snapshot> set_canary_weights(std::unordered_map<std::string, double> weights);

 private:
  std::shared_ptr<const Snapshot> build_and_store(std::shared_ptr<const config::Config> cfg);
  std::unordered_map<std::string, double> weights_;  // guarded by publish_mutex_
  EndpointRegistry& registry_;
  // The published snapshot, swapped under a mutex held only for a pointer copy. Not
  // std::atomic<std::shared_ptr>: libstdc++ 12 builds it on a lock bit and standalone fences, which
  // ThreadSanitizer cannot see, so every reload was reported as a race with every request.
  mutable std::mutex current_mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::mutex publish_mutex_;
  uint64_t generation_ = 0;
};

}  // namespace slipway
