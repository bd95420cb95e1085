// The rollout service's metric families (docs/metrics.md, "Rollout metrics"), read at scrape time on the
// control thread, where everything that changes the service runs.
#include "gateway/metrics.hpp"
#include "gateway/rollout_config.hpp"
#include "gateway/rollout_service.hpp"

namespace slipway {

using rollout::TriggerKind;

// Metrics

class RolloutService::Collector final : public prometheus::Collectable {
 public:
  explicit Collector(const RolloutService& s) : s_(s) {}

  // Runs on the control thread (the admin listener's scrape), like everything that changes the service.
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    auto active = family("slipway_rollback_active", "1 while the model's canary is rolled back (latched), else 0.", MetricType::Gauge);
    auto rollbacks = family("slipway_rollbacks_total", "Rollbacks by the trigger and slice that fired (trigger=\"manual\" for the admin API).", MetricType::Counter);
    auto step = family("slipway_rollout_step", "Index of the current progressive step (-1: no steps configured).", MetricType::Gauge);
    auto promotions = family("slipway_rollout_promotions_total", "Promotions to the next progressive step.", MetricType::Counter);
    auto evaluations = family("slipway_trigger_evaluations_total", "Evaluations of the model's triggers (one per tick).", MetricType::Counter);
    auto p_value = family("slipway_trigger_p_value", "The trigger's always-valid p-value on the slice (1 until its minimum sample).", MetricType::Gauge);
    auto threshold = family("slipway_trigger_threshold", "The p-value below which the trigger fires (its share of the error budget).", MetricType::Gauge);
    auto canary_value = family("slipway_trigger_canary_value", "The canary's side of the test: a rate, or the quantile for distribution SLIs.", MetricType::Gauge);
    auto baseline_value = family("slipway_trigger_baseline_value", "The baseline's side of the test: a rate, or the quantile for distribution SLIs.", MetricType::Gauge);
    auto samples = family("slipway_trigger_samples", "Requests in the trigger's current test, by variant.", MetricType::Gauge);
    auto alerts = family("slipway_alert_notifications_total", "Alert delivery attempts by receiver and result.", MetricType::Counter);
    auto dropped = family("slipway_rollout_observations_dropped_total", "Requests not judged because the controller's inbox was full.", MetricType::Counter);
    auto write_failures = family("slipway_rollout_state_write_failures_total", "Failed writes of a rollout state file.", MetricType::Counter);

    for (const auto& [name, m] : s_.models_) {
      const auto& c = *m->controller;
      active.metric.push_back(value_metric({{"model", name}}, c.state().latched ? 1.0 : 0.0, MetricType::Gauge));
      step.metric.push_back(value_metric({{"model", name}}, c.config().steps.empty() ? -1.0 : static_cast<double>(c.state().step), MetricType::Gauge));
      for (const auto& r : m->last.results) {
        const auto& t = c.config().triggers[r.trigger];
        std::vector<prometheus::ClientMetric::Label> l{{"model", name}, {"trigger", std::string(r.trigger_name)}, {"slice", std::string(r.slice_name)}};
        const bool rate = t.kind == TriggerKind::rate;
        const double scale = value_scale(t);
        p_value.metric.push_back(value_metric(l, r.eval.p_value, MetricType::Gauge));
        threshold.metric.push_back(value_metric(l, r.eval.threshold, MetricType::Gauge));
        canary_value.metric.push_back(value_metric(l, rate ? r.eval.canary_rate : r.eval.canary_value * scale, MetricType::Gauge));
        baseline_value.metric.push_back(value_metric(l, rate ? r.eval.baseline_rate : r.eval.baseline_value * scale, MetricType::Gauge));
        auto lc = l, lb = l;
        lc.push_back({"variant", "canary"});
        lb.push_back({"variant", "baseline"});
        samples.metric.push_back(value_metric(lc, static_cast<double>(r.eval.canary_n), MetricType::Gauge));
        samples.metric.push_back(value_metric(lb, static_cast<double>(r.eval.baseline_n), MetricType::Gauge));
      }
    }
    for (const auto& [key, n] : s_.rollbacks_)
      rollbacks.metric.push_back(value_metric({{"model", std::get<0>(key)}, {"trigger", std::get<1>(key)}, {"slice", std::get<2>(key)}},
                                              static_cast<double>(n), MetricType::Counter));
    for (const auto& [name, n] : s_.promotions_)
      promotions.metric.push_back(value_metric({{"model", name}}, static_cast<double>(n), MetricType::Counter));
    for (const auto& [name, n] : s_.evaluations_)
      evaluations.metric.push_back(value_metric({{"model", name}}, static_cast<double>(n), MetricType::Counter));
    const AlertStats st = s_.alerts_.stats();
    alerts.metric.push_back(value_metric({{"receiver", "alertmanager"}, {"result", "accepted"}}, static_cast<double>(st.alertmanager_accepted), MetricType::Counter));
    alerts.metric.push_back(value_metric({{"receiver", "alertmanager"}, {"result", "failed"}}, static_cast<double>(st.alertmanager_failed), MetricType::Counter));
    alerts.metric.push_back(value_metric({{"receiver", "webhook"}, {"result", "accepted"}}, static_cast<double>(st.webhook_accepted), MetricType::Counter));
    alerts.metric.push_back(value_metric({{"receiver", "webhook"}, {"result", "failed"}}, static_cast<double>(st.webhook_failed), MetricType::Counter));
    dropped.metric.push_back(value_metric({}, static_cast<double>(s_.dropped_.load(std::memory_order_relaxed)), MetricType::Counter));
    write_failures.metric.push_back(value_metric({}, static_cast<double>(s_.state_write_failures_), MetricType::Counter));
    std::vector<prometheus::MetricFamily> out{std::move(active), std::move(rollbacks), std::move(step), std::move(promotions),
            std::move(evaluations), std::move(p_value), std::move(threshold), std::move(canary_value),
            std::move(baseline_value), std::move(samples), std::move(alerts), std::move(dropped), std::move(write_failures)};
    if (s_.fleet_cfg_) add_fleet(out);
    return out;
  }

  // Fleet mode only (docs/metrics.md, "Fleet metrics").
  void add_fleet(std::vector<prometheus::MetricFamily>& out) const {
    using prometheus::MetricType;
    auto up = family("slipway_fleet_store_up", "1 while the fleet's store answers this replica, else 0 (it then judges on its own traffic).", MetricType::Gauge);
    auto errors = family("slipway_fleet_store_errors_total", "Store requests (ticks, latch/resume/weight writes) that failed or timed out.", MetricType::Counter);
    auto writes = family("slipway_fleet_writes_total", "Bucket writes to the store (one pipelined HINCRBY set per bucket with counts).", MetricType::Counter);
    auto replicas = family("slipway_fleet_replicas", "Replicas whose heartbeat the store saw in the last 10 s (this one included).", MetricType::Gauge);
    auto evals = family("slipway_fleet_evaluations_total", "Evaluations by the data judged: the fleet's sums (shared) or this replica's windows (local).", MetricType::Counter);
    auto latch = family("slipway_fleet_latch_writes_total", "Latch writes by result: won (this replica's decision stands, it alerts) or lost (another's did).", MetricType::Counter);
    auto applied = family("slipway_fleet_changes_applied_total", "Changes taken from the fleet (another replica's latch, resume or weight override).", MetricType::Counter);
    up.metric.push_back(value_metric({}, s_.store_up_ ? 1.0 : 0.0, MetricType::Gauge));
    errors.metric.push_back(value_metric({}, static_cast<double>(s_.fleet_ ? s_.fleet_->errors() : 0), MetricType::Counter));
    writes.metric.push_back(value_metric({}, static_cast<double>(s_.fleet_writes_), MetricType::Counter));
    replicas.metric.push_back(value_metric({}, static_cast<double>(s_.fleet_replicas_), MetricType::Gauge));
    evals.metric.push_back(value_metric({{"source", "shared"}}, static_cast<double>(s_.fleet_evals_shared_), MetricType::Counter));
    evals.metric.push_back(value_metric({{"source", "local"}}, static_cast<double>(s_.fleet_evals_local_), MetricType::Counter));
    latch.metric.push_back(value_metric({{"result", "won"}}, static_cast<double>(s_.latch_won_), MetricType::Counter));
    latch.metric.push_back(value_metric({{"result", "lost"}}, static_cast<double>(s_.latch_lost_), MetricType::Counter));
    for (const char* change : {"latch", "resume", "weight"}) {
      auto it = s_.fleet_applied_.find(change);
      applied.metric.push_back(value_metric({{"change", change}}, it == s_.fleet_applied_.end() ? 0.0 : static_cast<double>(it->second), MetricType::Counter));
    }
    for (auto* f : {&up, &errors, &writes, &replicas, &evals, &latch, &applied}) out.push_back(std::move(*f));
  }

 private:
  const RolloutService& s_;
};

std::shared_ptr<prometheus::Collectable> RolloutService::make_collector(const RolloutService& s) {
  return std::make_shared<Collector>(s);
}

}  // namespace slipway
