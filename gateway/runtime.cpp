#include "gateway/runtime.hpp"

namespace slipway {

namespace {
int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

bool EndpointState::usable(Clock::time_point now) const {
  if (probe() == Probe::down) return false;
  return ejected_until_ns_.load(std::memory_order_relaxed) <= to_ns(now);
}

bool EndpointState::ready(Clock::time_point now, bool active_checks) const {
  if (active_checks) return probe() == Probe::up && usable(now);
  return usable(now);
}

void EndpointState::record_success() { consecutive_failures_.store(0, std::memory_order_relaxed); }

bool EndpointState::record_failure(const config::HealthPolicy& policy, Clock::time_point now) {
  int failures = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures < policy.eject_after_failures) return false;
  consecutive_failures_.store(0, std::memory_order_relaxed);
  ejected_until_ns_.store(to_ns(now + policy.eject_for), std::memory_order_relaxed);
  return true;
}

void EndpointState::record_probe(bool ok) {
  if (ok) {
    probe_failures_.store(0, std::memory_order_relaxed);
    probe_.store(static_cast<int>(Probe::up), std::memory_order_relaxed);
    // A passing probe ends a passive ejection early: the endpoint has shown it answers again.
    if (consecutive_failures_.load(std::memory_order_relaxed) == 0) ejected_until_ns_.store(0, std::memory_order_relaxed);
    return;
  }
  int failures = probe_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  // Never seen up, or failed often enough in a row: down.
  if (probe() == Probe::unknown || failures >= kProbeFailuresBeforeDown)
    probe_.store(static_cast<int>(Probe::down), std::memory_order_relaxed);
}

const ModelRuntime* Snapshot::find_model(std::string_view name) const {
  for (const auto& m : models)
    if (m.config->name == name) return &m;
  return nullptr;
}

bool Snapshot::ready(Clock::time_point now) const {
  bool active = config->health.check_interval.count() > 0;
  for (const auto& m : models) {
    bool any = false;
    for (const auto& ep : m.baseline.endpoints) any = any || ep->ready(now, active);
    if (!any) return false;
  }
  return true;
}

std::shared_ptr<EndpointState> EndpointRegistry::get(const config::Endpoint& ep) {
  std::lock_guard lock(mutex_);
  auto& slot = by_label_[ep.label()];
  if (!slot) slot = std::make_shared<EndpointState>(ep);
  return slot;
}

void EndpointRegistry::prune() {
  std::lock_guard lock(mutex_);
  for (auto it = by_label_.begin(); it != by_label_.end();)
    it = it->second.use_count() == 1 ? by_label_.erase(it) : std::next(it);
}

std::vector<std::shared_ptr<EndpointState>> EndpointRegistry::all() {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<EndpointState>> out;
  for (auto& [_, s] : by_label_) out.push_back(s);
  return out;
}

std::shared_ptr<const Snapshot> SnapshotStore::publish(std::shared_ptr<const config::Config> cfg) {
  std::lock_guard lock(publish_mutex_);
  auto owned = std::make_shared<config::Config>(*cfg);
  owned->generation = ++generation_;
  return build_and_store(std::move(owned));
}

std::shared_ptr<const Snapshot> SnapshotStore::set_canary_weights(std::unordered_map<std::string, double> weights) {
  std::lock_guard lock(publish_mutex_);
  weights_ = std::move(weights);
  auto cur = current();
  if (!cur) return cur;
  return build_and_store(cur->config);
}

std::shared_ptr<const Snapshot> SnapshotStore::build_and_store(std::shared_ptr<const config::Config> owned) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = owned;
  for (const auto& m : owned->models) {
    ModelRuntime rt;
    rt.config = &m;
    rt.baseline.kind = VariantKind::baseline;
    rt.baseline.config = &m.baseline;
    for (const auto& ep : m.baseline.endpoints) rt.baseline.endpoints.push_back(registry_.get(ep));
    if (m.canary) {
      VariantRuntime c;
      c.kind = VariantKind::canary;
      c.config = &*m.canary;
      for (const auto& ep : m.canary->endpoints) c.endpoints.push_back(registry_.get(ep));
      rt.canary = std::move(c);
      auto w = weights_.find(m.name);
      rt.canary_weight_percent = w != weights_.end() ? w->second : m.canary->weight_percent;
    }
    snap->models.push_back(std::move(rt));
  }
  std::shared_ptr<const Snapshot> published = snap;
  std::shared_ptr<const Snapshot> previous = published;  // released after the lock, not under it
  {
    std::lock_guard lock(current_mutex_);
    current_.swap(previous);
  }
  registry_.prune();
  return published;
}

}  // namespace slipway
