#include "gateway/rollout_service.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include "gateway/metrics.hpp"
#include "gateway/rollout/state_file.hpp"
#include "gateway/rollout_config.hpp"
#include "gateway/rollout_observation.hpp"
#include "gateway/rollout_report.hpp"

namespace slipway {

namespace json = boost::json;
using rollout::LatencySli;
using rollout::RateSli;
using rollout::TriggerKind;

namespace {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// For log lines and alert annotations: numbers as short strings.
std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------

RolloutService::RolloutService(boost::asio::io_context& control, SnapshotStore& store, const Log& log, AlertNotifier& alerts)
    : control_(control), store_(store), log_(log), alerts_(alerts), timer_(control),
      collector_(make_collector(*this)) {}

RolloutService::~RolloutService() {
  alive_.reset();  // wake-ups still queued on the control thread find nobody
  fleet_.reset();  // joins the store's threads
}

void RolloutService::observe(const Outcome& out, const config::Config& cfg, std::size_t model_index, bool offered_tools) {
  if (model_index >= cfg.models.size() || !cfg.models[model_index].rollout) return;
  auto judged = judged_request(out, cfg, model_index, offered_tools);
  if (!judged) return;
  // Workers spread over the inboxes by thread, so two workers rarely share a lock.
  thread_local const std::size_t slot = std::hash<std::thread::id>{}(std::this_thread::get_id()) % kInboxes;
  Inbox& inbox = inboxes_[slot];
  std::lock_guard lock(inbox.mutex);
  if (inbox.items.size() >= kMaxPendingPerInbox) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  inbox.items.push_back(Pending{cfg.generation, static_cast<uint32_t>(model_index), out.slices, judged->variant,
                                judged->observation, out.end});
}

void RolloutService::observe_shadow(const config::Config& cfg, std::size_t model_index, uint32_t slices, bool disagreed) {
  if (model_index >= cfg.models.size() || !cfg.models[model_index].rollout) return;
  // The canary's side of shadow_disagreement only: every other SLI stays "does not apply", so a shadow is
  // never counted as a canary request.
  rollout::Observation o;
  o.set(RateSli::shadow_disagreement, disagreed);
  thread_local const std::size_t slot = std::hash<std::thread::id>{}(std::this_thread::get_id()) % kInboxes;
  Inbox& inbox = inboxes_[slot];
  std::lock_guard lock(inbox.mutex);
  if (inbox.items.size() >= kMaxPendingPerInbox) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  inbox.items.push_back(Pending{cfg.generation, static_cast<uint32_t>(model_index), slices, rollout::Variant::canary, o, Clock::now()});
}

void RolloutService::drain() {
  std::vector<Pending> batch;
  std::vector<uint16_t> slices;
  // Fleet mode: the windows count wall-clock time (buckets line up across replicas); requests carry steady time.
  const Clock::duration to_wall = fleet_ ? fleet::wall_now() - Clock::now() : Clock::duration::zero();
  for (Inbox& inbox : inboxes_) {
    {
      std::lock_guard lock(inbox.mutex);
      batch.swap(inbox.items);
    }
    for (const Pending& p : batch) {
      auto g = names_.find(p.generation);
      if (g == names_.end() || p.model_index >= g->second.models.size()) continue;  // a generation long gone
      ModelRollout* m = find(g->second.models[p.model_index]);
      if (!m) continue;
      slices.clear();
      const bool same_slices = g->second.slices == m->slice_names;
      for (std::size_t i = 0; i < g->second.slices.size() && i < 32; ++i) {
        if (!(p.slices & (uint32_t{1} << i))) continue;
        if (same_slices) {
          slices.push_back(static_cast<uint16_t>(i + 1));
        } else {  // the slice list changed since this request began: match by name
          auto it = std::find(m->slice_names.begin(), m->slice_names.end(), g->second.slices[i]);
          if (it != m->slice_names.end()) slices.push_back(static_cast<uint16_t>(it - m->slice_names.begin() + 1));
        }
      }
      if (m->wall_clock) {
        m->controller->observe(p.variant, slices, p.observation, p.at + to_wall);
        if (m->fleet.unsent) m->fleet.unsent->observe(p.variant, slices, p.observation, p.at + to_wall);
      } else {
        m->controller->observe(p.variant, slices, p.observation, p.at);
      }
    }
    batch.clear();
    // Hand the (now empty, still allocated) vector back, so the inbox does not grow from zero every tick.
    std::lock_guard lock(inbox.mutex);
    if (inbox.items.empty()) inbox.items.swap(batch);
  }
}

void RolloutService::apply_config(const config::Config& cfg) {
  drain();  // requests of the old generation still count in the windows they belong to
  every_ = std::max<Clock::duration>(cfg.rollout_evaluate_every, std::chrono::milliseconds(50));
  state_dir_ = cfg.state_dir;
  GenerationNames names;
  for (const auto& m : cfg.models) names.models.push_back(m.name);
  for (const auto& s : cfg.slices) names.slices.push_back(s.name);
  names_[cfg.generation] = names;
  while (names_.size() > 8) names_.erase(names_.begin());
  configure_fleet(cfg);
  const bool wall_clock = fleet_ != nullptr;

  const auto now = rollout_now();
  std::map<std::string, std::unique_ptr<ModelRollout>, std::less<>> next;
  for (const auto& model : cfg.models) {
    if (!model.rollout || !model.canary) continue;
    const std::string path = state_dir_.empty() ? std::string() : state_file_path(state_dir_, model.name);
    auto it = models_.find(model.name);
    if (it != models_.end() && it->second->spec == *model.rollout && it->second->slice_names == names.slices &&
        it->second->state_path == path && it->second->wall_clock == wall_clock) {
      it->second->controller->set_configured_weight(model.canary->weight_percent);
      next.emplace(model.name, std::move(it->second));
      continue;
    }
    auto m = std::make_unique<ModelRollout>();
    m->model = model.name;
    m->spec = *model.rollout;
    m->slice_names = names.slices;
    m->state_path = path;
    m->wall_clock = wall_clock;
    std::optional<rollout::RolloutState> restored;
    bool from_file = false;
    if (it != models_.end()) {
      restored = it->second->controller->state();
    } else if (!path.empty()) {
      if (int n = rollout::remove_orphaned_temp_files(path))  // left by a gateway killed mid-write
        log_.write(LogLevel::info, "rollout_state_temp_removed", {{"model", model.name}, {"files", n}});
      auto read = rollout::read_state_file(path);
      if (read.status == rollout::StateFileRead::Status::ok) {
        restored = std::move(read.state);
        from_file = true;
      } else if (read.status == rollout::StateFileRead::Status::error) {
        // We cannot know whether the canary was rolled back: keep it out until an operator decides.
        log_.write(LogLevel::error, "rollout_state_unreadable", {{"model", model.name}, {"error", read.error}});
        rollout::RolloutState s;
        s.revision = model.rollout->revision;
        s.latched = true;
        s.latched_at_unix_ms = unix_ms_now();
        s.reason = rollout::LatchReason{"state_file", "", "", "unreadable state file: " + read.error, {}};
        restored = std::move(s);
        from_file = true;
      }
    }
    const bool was_latched = restored && restored->latched;
    const std::string old_revision = restored ? restored->revision : model.rollout->revision;
    try {
      m->controller = std::make_unique<rollout::Controller>(controller_config(model, cfg), now, restored);
    } catch (const std::exception& e) {
      log_.write(LogLevel::error, "rollout_config_invalid", {{"model", model.name}, {"what", e.what()}});
      continue;
    }
    if (wall_clock) {
      // Room for the counts of a few flushes: a slow store may skip ticks (fleet::Store::submit_tick).
      rollout::WindowConfig wc = m->controller->config().window;
      wc.buckets = static_cast<std::size_t>(fleet_cfg_->flush_every / wc.bucket_width) + 8;
      m->fleet.unsent = std::make_unique<rollout::Windows>(wc, names.slices.size() + 1);
      if (it != models_.end()) m->fleet.seen_store = it->second->fleet.seen_store;
    }
    const auto& st = m->controller->state();
    if (old_revision != st.revision) {
      log_.write(LogLevel::info, "rollout_resumed",
                 {{"model", model.name}, {"by", "config"}, {"from_revision", old_revision}, {"revision", st.revision},
                  {"was_latched", was_latched}, {"weight", m->controller->canary_weight_percent()}});
      if (was_latched) alerts_.resolve(model.name);
      persist(*m);
    } else if (from_file && st.latched && it == models_.end()) {
      log_.write(LogLevel::warn, "rollback_restored",
                 {{"model", model.name}, {"revision", st.revision}, {"state_file", path},
                  {"trigger", st.reason ? st.reason->trigger : ""}, {"slice", st.reason ? st.reason->slice : ""}});
      // In a fleet the replica that won the latch sends the alert (again after its own restart: reconcile).
      if (!wall_clock) fire_alert(*m);
      m->fleet.adopted = wall_clock;
    } else if (!restored) {
      persist(*m);
    }
    next.emplace(model.name, std::move(m));
  }
  for (auto& [name, old] : models_) {
    if (!old || next.count(name)) continue;
    if (old->controller->state().latched) alerts_.resolve(name);
    log_.write(LogLevel::info, "rollout_removed", {{"model", name}});
  }
  models_ = std::move(next);
  if (fleet_ && !fleet_synced_) {
    // Once, at start (before the listeners open): take the fleet's latch now rather than at the first tick,
    // so a replica added to a rolled-back fleet never sends a request to the canary. Bounded by fleet.timeout.
    fleet_synced_ = true;
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& [name, m] : models_)
      if (m->wall_clock) keys.emplace_back(name, m->controller->state().revision);
    std::string error;
    auto views = fleet::fetch_states(fleet_->settings(), keys, error);
    if (views.empty() && !keys.empty())
      log_.write(LogLevel::warn, "fleet_store_unreachable_at_start", {{"store", fleet_cfg_->store}, {"error", error}});
    if (!views.empty()) {
      store_up_ = true;
      store_error_.clear();
    }
    for (const auto& v : views)
      if (ModelRollout* m = find_fleet(v.model, v.revision)) reconcile(*m, v);
  }
  publish_weights();
}

void RolloutService::start() {
  running_ = true;
  timer_.expires_after(every_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    evaluate_now();
    start();
  });
}

void RolloutService::stop() {
  running_ = false;
  timer_.cancel();
}

void RolloutService::evaluate_now() {
  drain();
  if (fleet_) fleet_tick();
  const auto now = rollout_now();
  const int64_t unix_ms = unix_ms_now();
  for (auto& [name, m] : models_) judge(*m, now, unix_ms);
}

void RolloutService::judge(ModelRollout& m, Clock::time_point now, int64_t unix_ms) {
  rollout::Decision d;
  // Fleet mode: judge on the fleet's sums while they are fresh (this replica's own counts are in them, written
  // before they were read), else on this replica's own windows.
  const auto stale_after = 3 * std::max<Clock::duration>(fleet_cfg_ ? fleet_cfg_->flush_every : every_, every_);
  if (m.wall_clock && store_up_ && m.fleet.shared && Clock::now() - m.fleet.shared_at < stale_after) {
    std::swap(m.controller->windows(), *m.fleet.shared);
    d = m.controller->evaluate(now, unix_ms);
    std::swap(m.controller->windows(), *m.fleet.shared);
    ++fleet_evals_shared_;
  } else {
    d = m.controller->evaluate(now, unix_ms);
    if (m.wall_clock) ++fleet_evals_local_;
  }
  ++evaluations_[m.model];
  m.last = std::move(d);
  if (m.last.kind == rollout::Decision::Kind::rollback) {
    on_rollback(m, m.last.cause ? &*m.last.cause : nullptr, "trigger");
  } else if (m.last.kind == rollout::Decision::Kind::promote) {
    persist(m);
    publish_weights();
    ++promotions_[m.model];
    log_.write(LogLevel::info, "rollout_promoted",
               {{"model", m.model}, {"step", m.last.to_step}, {"weight", m.last.to_weight_percent}});
  }
  // Log a hold when its kind changes, not every tick ("holding step 0 for 59 s more" counts down).
  const std::string& reason = m.last.hold_reason;
  const std::string kind = reason.substr(0, reason.find(" for "));
  if (kind != m.hold_kind) {
    m.hold_kind = kind;
    if (!reason.empty())
      log_.write(LogLevel::info, "rollout_hold", {{"model", m.model}, {"step", m.controller->state().step}, {"reason", reason}});
  }
  m.hold_reason = reason;
}

// The order matters: the latch is on disk before anything is reported, so a crash right after cannot
// bring the canary back; then the weight, then the people.
void RolloutService::on_rollback(ModelRollout& m, const rollout::PairResult* cause, std::string_view actor) {
  const bool persisted = persist(m);
  publish_weights();
  const auto& st = m.controller->state();
  json::object f{{"model", m.model}, {"by", actor}, {"revision", st.revision}, {"persisted", persisted},
                 {"weight", m.controller->canary_weight_percent()}};
  std::string trigger = "manual", slice;
  if (cause) {
    const auto& t = m.controller->config().triggers[cause->trigger];
    trigger = std::string(cause->trigger_name);
    slice = std::string(cause->slice_name);
    f["trigger"] = trigger;
    f["slice"] = slice;
    f["sli"] = sli_label(t);
    f["numbers"] = evaluation_json(cause->eval, value_scale(t));
  } else {
    f["trigger"] = "manual";
    f["reason"] = st.reason ? st.reason->message : "";
  }
  if (m.wall_clock) f["replica"] = fleet_cfg_->replica_id;
  log_.write(LogLevel::warn, "rollback", f);
  ++rollbacks_[{m.model, trigger, slice}];
  if (!m.wall_clock) {
    fire_alert(m);
    return;
  }
  // A fleet alerts once per decision: the replica whose latch write wins (on_fleet_replies). Without the
  // store nobody can win, so this replica pages itself; its latch is written back when the store returns.
  m.fleet.alert_sent = false;
  m.fleet.adopted = false;
  if (!store_up_) {
    fire_alert(m);
    m.fleet.alert_sent = true;
  }
  write_latch(m);
}

bool RolloutService::persist(ModelRollout& m) {
  if (m.state_path.empty()) return true;
  std::string error;
  if (rollout::write_state_file(m.state_path, m.controller->state(), error)) return true;
  ++state_write_failures_;
  log_.write(LogLevel::error, "rollout_state_write_failed", {{"model", m.model}, {"path", m.state_path}, {"error", error}});
  return false;
}

void RolloutService::publish_weights() {
  std::unordered_map<std::string, double> weights;
  // on_store_loss: baseline keeps the canary out while this replica cannot see the fleet (not a latch:
  // nothing is persisted, and the weight comes back with the store).
  const bool hold_back = fleet_cfg_ && !store_up_ && fleet_cfg_->on_store_loss == config::Fleet::OnStoreLoss::baseline;
  for (const auto& [name, m] : models_) weights[name] = hold_back ? 0.0 : m->controller->canary_weight_percent();
  store_.set_canary_weights(std::move(weights));
}

void RolloutService::fire_alert(const ModelRollout& m) {
  const auto& st = m.controller->state();
  if (!st.latched || !st.reason) return;
  const auto& r = *st.reason;
  RollbackAlert a;
  a.model = m.model;
  a.trigger = r.trigger;
  a.slice = r.slice;
  a.starts_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(st.latched_at_unix_ms));
  if (r.trigger == "manual" || r.trigger == "state_file") {
    a.summary = "Canary of " + m.model + " rolled back (" + r.trigger + ")";
    a.description = r.message;
  } else {
    const auto& e = r.numbers;
    a.summary = "Canary of " + m.model + " rolled back: " + r.trigger + " on slice " + r.slice;
    a.description = r.sli + " on slice " + r.slice + ": canary " + fmt(e.canary_rate) + " (n=" + std::to_string(e.canary_n) +
                    ") vs baseline " + fmt(e.baseline_rate) + " (n=" + std::to_string(e.baseline_n) + "), p=" + fmt(e.p_value) +
                    " < " + fmt(e.threshold) + ". The canary gets no traffic until an operator resumes it.";
    a.numbers = {{"sli", r.sli},
                 {"canary_rate", fmt(e.canary_rate)},
                 {"baseline_rate", fmt(e.baseline_rate)},
                 {"canary_n", std::to_string(e.canary_n)},
                 {"baseline_n", std::to_string(e.baseline_n)},
                 {"statistic", fmt(e.statistic)},
                 {"p_value", fmt(e.p_value)},
                 {"threshold", fmt(e.threshold)}};
    if (e.canary_value != 0 || e.baseline_value != 0) {
      a.numbers["canary_value"] = fmt(e.canary_value);
      a.numbers["baseline_value"] = fmt(e.baseline_value);
    }
  }
  a.numbers["revision"] = st.revision;
  alerts_.fire(std::move(a));
}

RolloutService::ModelRollout* RolloutService::find(std::string_view model) {
  auto it = models_.find(model);
  return it == models_.end() ? nullptr : it->second.get();
}

ControlResult RolloutService::not_found(std::string_view model) const {
  const auto snap = store_.current();
  if (const auto* m = snap->config->find_model(model)) {
    if (!m->canary) return {409, "Model " + std::string(model) + " has no canary.", {}};
    return {409, "Model " + std::string(model) + " has no rollout block in the config, so nothing to roll back or "
                 "resume; set its canary.weight in the config instead.", {}};
  }
  return {404, "Unknown model " + std::string(model) + ".", {}};
}

ControlResult RolloutService::rollback(std::string_view model, std::string_view reason) {
  ModelRollout* m = find(model);
  if (!m) return not_found(model);
  drain();
  if (m->controller->state().latched) {
    const auto snap = store_.current();
    return {200, "Already rolled back; nothing changed.", model_state(*snap->config->find_model(model), snap->find_model(model))};
  }
  m->controller->rollback(std::string(reason), unix_ms_now());
  on_rollback(*m, nullptr, "admin");
  const auto snap = store_.current();
  return {200, "Rolled back: the canary gets no traffic until resumed.", model_state(*snap->config->find_model(model), snap->find_model(model))};
}

ControlResult RolloutService::resume(std::string_view model, std::string_view reason) {
  ModelRollout* m = find(model);
  if (!m) return not_found(model);
  drain();
  const bool was_latched = m->controller->state().latched;
  m->controller->resume(m->controller->state().revision, rollout_now());
  m->last = {};
  if (m->wall_clock) {
    m->fleet.alert_sent = false;
    m->fleet.resumed_at_unix_ms = unix_ms_now();
    if (fleet_)
      fleet_->submit_op({fleet::StateOp::Kind::resume, m->model, m->controller->state().revision,
                         fleet::state_key(fleet_cfg_->key_prefix, m->model, m->controller->state().revision), "",
                         m->fleet.resumed_at_unix_ms});
  }
  persist(*m);
  publish_weights();
  if (was_latched) alerts_.resolve(m->model);
  log_.write(LogLevel::info, "rollout_resumed",
             {{"model", m->model}, {"by", "admin"}, {"reason", reason}, {"revision", m->controller->state().revision},
              {"was_latched", was_latched}, {"weight", m->controller->canary_weight_percent()}});
  const auto snap = store_.current();
  return {200, was_latched ? "Resumed: the latch is cleared and the canary starts again." : "Restarted the rollout (it was not rolled back).",
          model_state(*snap->config->find_model(model), snap->find_model(model))};
}

ControlResult RolloutService::set_weight(std::string_view model, std::optional<double> percent, std::string_view reason) {
  ModelRollout* m = find(model);
  if (!m) return not_found(model);
  if (percent && !(*percent >= 0 && *percent <= 100)) return {400, "weight_percent must be within [0, 100].", {}};
  m->controller->set_weight_override(percent);
  persist(*m);
  publish_weights();
  if (m->wall_clock && fleet_)
    fleet_->submit_op({fleet::StateOp::Kind::weight, m->model, m->controller->state().revision,
                       fleet::state_key(fleet_cfg_->key_prefix, m->model, m->controller->state().revision),
                       percent ? fmt(*percent) : std::string(), unix_ms_now()});
  log_.write(LogLevel::info, "rollout_weight_override",
             {{"model", m->model}, {"by", "admin"}, {"reason", reason}, {"override", percent ? json::value(*percent) : json::value(nullptr)},
              {"weight", m->controller->canary_weight_percent()}});
  const auto snap = store_.current();
  std::string msg = percent ? "Weight override set; it holds until the next rollout.revision." : "Weight override cleared.";
  if (m->controller->state().latched) msg += " The canary is rolled back, so its weight stays 0 until resumed.";
  return {200, msg, model_state(*snap->config->find_model(model), snap->find_model(model))};
}

}  // namespace slipway
