// The rollout service: the gateway's side of the rollout controller (gateway/rollout/). Workers hand it each
// finished request (observe: an append to an inbox under a short lock, never a wait on the judge). On the
// control thread, a timer drains the inboxes into each model's windows and runs its triggers; a rollback is
// persisted (state file) before the canary's weight becomes 0 in a new snapshot, then logged, counted and
// sent to on-call. The admin API (RolloutControl) and the metrics collector run on the control thread too,
// so the controllers need no lock.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/collectable.h>

#include "config/config.hpp"
#include "gateway/alerting.hpp"
#include "gateway/log.hpp"
#include "gateway/outcome.hpp"
#include "gateway/rollout/controller.hpp"
#include "gateway/rollout_control.hpp"
#include "gateway/runtime.hpp"

namespace slipway {

class RolloutService final : public RolloutControl {
 public:
  RolloutService(boost::asio::io_context& control, SnapshotStore& store, const Log& log, AlertNotifier& alerts);
  ~RolloutService() override;

  // Control thread: at start (before the listeners open, so a restart serves no request to a rolled-back
  // canary) and after every applied reload.
  void apply_config(const config::Config& cfg);
  // Control thread: starts / stops the evaluation timer (config rollout_evaluate_every).
  void start();
  void stop();
  // One evaluation now (drain + judge + act); the timer calls it.
  void evaluate_now();

  // Any worker thread, once per finished request.
  void observe(const Outcome& out, const config::Config& cfg, std::size_t model_index, bool offered_tools);
  // Any worker thread, once per compared shadow (gateway/shadow.cpp): one trial of the canary's
  // shadow_disagreement SLI (failed = any aspect disagreed). Touches no other SLI.
  void observe_shadow(const config::Config& cfg, std::size_t model_index, uint32_t slices, bool disagreed);

  // slipway_rollback_active, slipway_rollbacks_total, slipway_trigger_* ... (docs/metrics.md).
  std::shared_ptr<prometheus::Collectable> collector() const { return collector_; }

  // RolloutControl (admin API), control thread.
  boost::json::object state() const override;
  ControlResult rollback(std::string_view model, std::string_view reason) override;
  ControlResult resume(std::string_view model, std::string_view reason) override;
  ControlResult set_weight(std::string_view model, std::optional<double> percent, std::string_view reason) override;

 private:
  struct Pending {
    uint64_t generation;
    uint32_t model_index;
    uint32_t slices;
    rollout::Variant variant;
    rollout::Observation observation;
    Clock::time_point at;
  };
  struct Inbox {
    std::mutex mutex;
    std::vector<Pending> items;
  };
  static constexpr std::size_t kInboxes = 16;
  static constexpr std::size_t kMaxPendingPerInbox = 1 << 18;

  struct ModelRollout {
    std::string model;
    config::Rollout spec;
    std::vector<std::string> slice_names;
    std::string state_path;
    std::unique_ptr<rollout::Controller> controller;
    rollout::Decision last;            // the last evaluation (results for state and metrics)
    std::string hold_reason;           // the last evaluation's, for state()
    std::string hold_kind;             // its first words: a change is logged
  };
  struct GenerationNames {
    std::vector<std::string> models;
    std::vector<std::string> slices;
  };
  class Collector;  // gateway/rollout_metrics.cpp
  static std::shared_ptr<prometheus::Collectable> make_collector(const RolloutService& s);

  void drain();
  void judge(ModelRollout& m, Clock::time_point now, int64_t unix_ms);
  void on_rollback(ModelRollout& m, const rollout::PairResult* cause, std::string_view actor);
  bool persist(ModelRollout& m);
  void publish_weights();
  void fire_alert(const ModelRollout& m);
  ModelRollout* find(std::string_view model);
  ControlResult not_found(std::string_view model) const;
  boost::json::object model_state(const config::Model& model, const ModelRuntime* rt) const;

  boost::asio::io_context& control_;
  SnapshotStore& store_;
  const Log& log_;
  AlertNotifier& alerts_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  Clock::duration every_ = std::chrono::seconds(1);
  std::string state_dir_;

  std::array<Inbox, kInboxes> inboxes_;
  std::atomic<uint64_t> dropped_{0};        // observations lost to a full inbox
  std::map<uint64_t, GenerationNames> names_;  // recent config generations (pending items refer to them)
  std::map<std::string, std::unique_ptr<ModelRollout>, std::less<>> models_;
  // Counters that survive controller rebuilds: (model, trigger, slice) -> rollbacks; model -> promotions.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> rollbacks_;
  std::map<std::string, uint64_t, std::less<>> promotions_;
  std::map<std::string, uint64_t, std::less<>> evaluations_;
  uint64_t state_write_failures_ = 0;
  std::shared_ptr<prometheus::Collectable> collector_;  // a Collector
};

}  // namespace slipway
