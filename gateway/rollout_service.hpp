// The rollout service: the gateway's side of the rollout controller (gateway/rollout/). Workers hand it each
// finished request (observe: an append to an inbox under a short lock, never a wait on the judge). On the
// control thread, a timer drains the inboxes into each model's windows and runs its triggers; a rollback is
// persisted (state file) before the canary's weight becomes 0 in a new snapshot, then logged, counted and
// sent to on-call. The admin API (RolloutControl) and the metrics collector run on the control thread too,
// so the controllers need no lock.
//
// Fleet mode (config `fleet`, docs/fleet.md): the windows run on wall-clock time, each tick's new counts go to
// the fleet's store (gateway/fleet_store.hpp, its own threads), the controller judges on the fleet's sums read
// back, and the latch, resume and weight override are shared through the store (first latch writer wins and
// alerts). Without the store (unreachable, slow) the replica judges on its own windows and keeps its latch.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/collectable.h>

#include "config/config.hpp"
#include "gateway/alerting.hpp"
#include "gateway/fleet_store.hpp"
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

  // Fleet mode: {"store", "replica_id", "store_up", "error", "replicas", "on_store_loss", "judging_on"};
  // null without a fleet. Control thread.
  boost::json::value fleet_status() const;

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

  // A model's side of fleet mode.
  struct FleetSync {
    std::unique_ptr<rollout::Windows> unsent;  // counts observed here and not yet handed to the store
    std::unique_ptr<rollout::Windows> shared;  // the fleet's sums, as last read from the store
    // Buckets old enough that no replica writes them any more (older than `unsent`'s span), as read once:
    // each tick re-reads only the recent buckets, so the store's read load does not grow with the ring.
    std::set<int64_t> settled;
    std::unique_ptr<rollout::Windows> settled_counts;  // their counts
    Clock::time_point shared_at{};             // steady time of that read
    uint64_t applied_seq = 0;                  // the store's state sequence last seen
    std::string born;                          // ... and the state hash's birth mark (a wiped store has another)
    bool latch_in_flight = false;
    bool alert_claim_in_flight = false;        // an `alert` op (mark or claim) is queued
    std::optional<Clock::time_point> unalerted_since;  // first seen latched with nobody's alert mark
    bool alert_sent = false;                   // this replica fired the alert of the current latch
    bool adopted = false;                      // the current latch came from another replica (or a restart)
    bool seen_store = false;                   // a state view came since this replica started
    int64_t resumed_at_unix_ms = 0;            // last resume given here (a resume during an outage is written back)
  };

  struct ModelRollout {
    std::string model;
    config::Rollout spec;
    std::vector<std::string> slice_names;
    std::string state_path;
    std::unique_ptr<rollout::Controller> controller;
    rollout::Decision last;            // the last evaluation (results for state and metrics)
    std::string hold_reason;           // the last evaluation's, for state()
    std::string hold_kind;             // its first words: a change is logged
    bool wall_clock = false;           // windows on wall-clock time (fleet mode)
    FleetSync fleet;
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
  // Fleet mode (rollout_service.cpp, "Fleet" section).
  Clock::time_point rollout_now() const;
  void configure_fleet(const config::Config& cfg);
  void fleet_tick();
  void on_fleet_replies();
  void reconcile(ModelRollout& m, const fleet::StateView& v);
  void write_latch(ModelRollout& m);
  void adopt_latch(ModelRollout& m, const fleet::StateView& v);
  void claim_alert(ModelRollout& m);
  void set_store_up(bool up, const std::string& error);
  ModelRollout* find_fleet(const std::string& model, const std::string& revision);
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

  // Fleet mode. alive_ guards the store's wake-ups posted to the control thread against our destruction.
  std::optional<config::Fleet> fleet_cfg_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<fleet::Store> fleet_;
  bool store_up_ = false;
  bool fleet_synced_ = false;  // the start-up read of the shared states was done
  std::string store_error_;
  Clock::time_point last_flush_{};
  uint64_t fleet_writes_ = 0;
  int64_t fleet_replicas_ = 0;
  uint64_t fleet_evals_shared_ = 0, fleet_evals_local_ = 0;
  uint64_t latch_won_ = 0, latch_lost_ = 0;
  std::map<std::string, uint64_t, std::less<>> fleet_applied_;  // change (latch, resume, weight) -> count
};

}  // namespace slipway
