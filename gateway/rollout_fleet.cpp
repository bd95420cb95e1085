// The rollout service's fleet mode (docs/fleet.md): the windows and the latch shared through the store.
// Split from rollout_service.cpp, which keeps the single-replica service; both define RolloutService members.
#include "gateway/rollout_service.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>

#include "gateway/rollout/state_file.hpp"

namespace slipway {

namespace json = boost::json;

namespace {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Fleet: the windows and the latch shared through the store (docs/fleet.md). Everything here runs on the
// control thread; the store's I/O runs on its own threads and comes back through on_fleet_replies.
// ---------------------------------------------------------------------------------------------------

Clock::time_point RolloutService::rollout_now() const { return fleet_ ? fleet::wall_now() : Clock::now(); }

void RolloutService::configure_fleet(const config::Config& cfg) {
  if (cfg.fleet == fleet_cfg_) return;
  const bool had = fleet_ != nullptr;
  fleet_.reset();  // joins the old client's threads (bounded by its timeout)
  fleet_cfg_ = cfg.fleet;
  store_up_ = false;
  store_error_ = "not connected yet";
  if (!fleet_cfg_) {
    if (had) log_.write(LogLevel::info, "fleet_off", {});
    return;
  }
  fleet::StoreSettings st;
  st.host = fleet_cfg_->host;
  st.port = fleet_cfg_->port;
  st.db = fleet_cfg_->db;
  st.prefix = fleet_cfg_->key_prefix;
  st.replica_id = fleet_cfg_->replica_id;
  st.timeout = fleet_cfg_->timeout;
  std::weak_ptr<int> alive = alive_;
  auto exec = control_.get_executor();
  fleet_ = std::make_unique<fleet::Store>(st, [exec, alive, this] {
    boost::asio::post(exec, [alive, this] {
      if (alive.lock()) on_fleet_replies();
    });
  });
  last_flush_ = {};
  log_.write(LogLevel::info, "fleet_on",
             {{"store", fleet_cfg_->store}, {"replica_id", fleet_cfg_->replica_id}, {"key_prefix", fleet_cfg_->key_prefix},
              {"on_store_loss", fleet_cfg_->on_store_loss == config::Fleet::OnStoreLoss::baseline ? "baseline" : "keep"}});
}

// Hands the counts observed since the last flush to the store (one pipelined HINCRBY write per bucket, only
// non-zero counters) and asks for the fleet's buckets over each model's ring and its shared state.
void RolloutService::fleet_tick() {
  const auto steady = Clock::now();
  if (steady - last_flush_ < fleet_cfg_->flush_every) return;
  std::vector<fleet::BucketWrite> writes;
  std::vector<fleet::ModelRead> reads;
  const auto now = fleet::wall_now();
  for (auto& [name, m] : models_) {
    if (!m->wall_clock || !m->fleet.unsent) continue;
    const auto& wc = m->controller->config().window;
    const rollout::Windows& unsent = *m->fleet.unsent;
    const int64_t cur = unsent.epoch_of(now);
    const std::string& rev = m->controller->state().revision;
    const int ttl = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(wc.bucket_width).count() *
                                     static_cast<int64_t>(wc.buckets)) + 60;
    for (int64_t e = cur - static_cast<int64_t>(unsent.config().buckets) + 1; e <= cur; ++e) {
      fleet::BucketWrite w;
      fleet::bucket_fields(unsent, e, m->slice_names, w.fields);
      if (w.fields.empty()) continue;
      w.key = fleet::bucket_key(fleet_cfg_->key_prefix, name, rev, e);
      w.ttl_s = ttl;
      writes.push_back(std::move(w));
    }
    fleet::ModelRead r;
    r.model = name;
    r.revision = rev;
    r.state_key = fleet::state_key(fleet_cfg_->key_prefix, name, rev);
    // A replica writes a bucket at most `unsent`'s span after it ends (then the counts are dropped): older
    // buckets are settled, read once and kept.
    const int64_t oldest = cur - static_cast<int64_t>(wc.buckets) + 1;
    const int64_t recent = cur - static_cast<int64_t>(unsent.config().buckets) - 1;
    auto& settled = m->fleet.settled;
    settled.erase(settled.begin(), settled.lower_bound(oldest));
    for (int64_t e = oldest; e <= cur; ++e) {
      if (e < recent && settled.count(e)) continue;
      r.epochs.push_back(e);
      r.keys.push_back(fleet::bucket_key(fleet_cfg_->key_prefix, name, rev, e));
    }
    reads.push_back(std::move(r));
  }
  if (!fleet_->submit_tick(std::move(writes), std::move(reads))) return;  // the store lags: the counts wait
  last_flush_ = steady;
  for (auto& [name, m] : models_)
    if (m->fleet.unsent) *m->fleet.unsent = rollout::Windows(m->fleet.unsent->config(), m->fleet.unsent->slices());
}

RolloutService::ModelRollout* RolloutService::find_fleet(const std::string& model, const std::string& revision) {
  ModelRollout* m = find(model);
  if (!m || !m->wall_clock || m->controller->state().revision != revision) return nullptr;
  return m;
}

void RolloutService::set_store_up(bool up, const std::string& error) {
  if (up == store_up_) {
    if (!up) store_error_ = error;
    return;
  }
  store_up_ = up;
  store_error_ = up ? std::string() : error;
  if (up) {
    log_.write(LogLevel::info, "fleet_store_back", {{"store", fleet_cfg_->store}});
  } else {
    log_.write(LogLevel::error, "fleet_store_lost",
               {{"store", fleet_cfg_->store}, {"error", error},
                {"now", "judging on this replica's own traffic; the latch stays as it is"},
                {"on_store_loss", fleet_cfg_->on_store_loss == config::Fleet::OnStoreLoss::baseline ? "baseline" : "keep"}});
  }
  if (fleet_cfg_->on_store_loss == config::Fleet::OnStoreLoss::baseline) publish_weights();
}

void RolloutService::on_fleet_replies() {
  if (!fleet_) return;
  for (fleet::Reply& r : fleet_->take_replies()) {
    if (r.kind == fleet::Reply::Kind::announced) {
      if (ModelRollout* m = find_fleet(r.state.model, r.state.revision)) reconcile(*m, r.state);
      continue;
    }
    set_store_up(r.ok, r.error);
    if (r.kind == fleet::Reply::Kind::tick) {
      if (!r.ok) continue;
      fleet_writes_ += r.bucket_writes;
      fleet_replicas_ = r.replicas;
      for (const fleet::ModelData& d : r.models) {
        ModelRollout* m = find_fleet(d.model, d.revision);
        if (!m) continue;
        auto& fs = m->fleet;
        if (!fs.settled_counts)
          fs.settled_counts = std::make_unique<rollout::Windows>(m->controller->config().window, m->slice_names.size() + 1);
        const int64_t cur = fs.settled_counts->epoch_of(fleet::wall_now());
        const int64_t recent = cur - static_cast<int64_t>(fs.unsent->config().buckets) - 1;
        std::map<int64_t, const std::vector<fleet::Field>*> fresh;
        for (const auto& [epoch, fields] : d.buckets) fresh[epoch] = &fields;
        // Settled buckets join settled_counts once; the recent ones are added to a copy of it, afresh each time.
        for (int64_t e : d.epochs) {
          if (e >= recent || !fs.settled.insert(e).second) continue;
          if (auto f = fresh.find(e); f != fresh.end()) fleet::add_fields(*fs.settled_counts, e, m->slice_names, *f->second);
        }
        auto shared = std::make_unique<rollout::Windows>(*fs.settled_counts);
        for (const auto& [epoch, fields] : d.buckets)
          if (epoch >= recent) fleet::add_fields(*shared, epoch, m->slice_names, fields);
        m->fleet.shared = std::move(shared);
        m->fleet.shared_at = Clock::now();
        reconcile(*m, d.state);
      }
      continue;
    }
    ModelRollout* m = find_fleet(r.op.model, r.op.revision);
    if (!m) continue;
    if (r.op.kind == fleet::StateOp::Kind::alert) {
      m->fleet.alert_claim_in_flight = false;
      // Won a claim (not a mark: the marker has sent its alert already): the latch's winner died or was cut
      // off before it alerted, so this replica pages and holds the alert (re-sends, resolves).
      if (r.ok && r.won && !m->fleet.alert_sent && m->controller->state().latched) {
        fire_alert(*m);
        m->fleet.alert_sent = true;
        log_.write(LogLevel::warn, "fleet_alert_claimed",
                   {{"model", m->model}, {"replica", fleet_cfg_->replica_id}, {"winner", r.state.winner},
                    {"why", "nobody marked the latch as alerted within the grace period: its winner died or was cut off before alerting"}});
      }
    }
    if (r.op.kind == fleet::StateOp::Kind::latch) {
      m->fleet.latch_in_flight = false;
      if (!r.ok) {
        // Nobody can win now: page from here; the latch is written back once the store answers again.
        if (!m->fleet.alert_sent && !m->fleet.adopted && m->controller->state().latched) {
          fire_alert(*m);
          m->fleet.alert_sent = true;
        }
        continue;
      }
      if (r.won) {
        ++latch_won_;
        log_.write(LogLevel::info, "fleet_latch_written", {{"model", m->model}, {"replica", fleet_cfg_->replica_id}, {"seq", r.state.seq}});
        // A latch taken from another replica and written back (the store lost it) pages nobody again.
        if (!m->fleet.alert_sent && !m->fleet.adopted && m->controller->state().latched) {
          fire_alert(*m);
          m->fleet.alert_sent = true;
        }
      } else {
        ++latch_lost_;
      }
    }
    if (r.ok) reconcile(*m, r.state);
  }
}

// Brings this replica's latch and override in line with the store's view of them. The latch is the safe
// side: a latch the store does not hold (it lost its data, or this replica latched during an outage) is
// written back; a resume wins only if it is newer than this replica's latch.
void RolloutService::reconcile(ModelRollout& m, const fleet::StateView& v) {
  // m.controller is replaced by adopt_latch: always read it through m.
  const bool first_view = !m.fleet.seen_store;
  m.fleet.seen_store = true;
  if (!v.exists) {  // nothing stored for this revision (new, or the store lost its data)
    if (m.controller->state().latched) write_latch(m);
    return;
  }
  const bool newer = v.born != m.fleet.born || v.seq > m.fleet.applied_seq;
  if (v.latched) {
    if (!m.controller->state().latched && m.fleet.resumed_at_unix_ms > v.at_unix_ms && fleet_) {
      // Resumed here after the store's latch (during an outage): the resume goes to the fleet.
      fleet_->submit_op({fleet::StateOp::Kind::resume, m.model, m.controller->state().revision,
                         fleet::state_key(fleet_cfg_->key_prefix, m.model, m.controller->state().revision), "", m.fleet.resumed_at_unix_ms});
      m.fleet.resumed_at_unix_ms = 0;
    } else if (!m.controller->state().latched || (v.winner != fleet_cfg_->replica_id && newer)) {
      adopt_latch(m, v);
    }
    if (first_view && v.winner == fleet_cfg_->replica_id && !m.fleet.alert_sent && m.controller->state().latched &&
        (v.alerted.empty() || v.alerted == fleet_cfg_->replica_id)) {
      fire_alert(m);  // the winner's alert, re-sent after this replica restarted (unless another took it over)
      m.fleet.alert_sent = true;
    }
  } else if (m.controller->state().latched) {
    if (m.controller->state().latched_at_unix_ms > v.at_unix_ms) {
      write_latch(m);  // latched here after the store's last change: the fleet must hear of it
    } else if (newer) {
      const bool alerted = m.fleet.alert_sent;
      m.controller->resume(m.controller->state().revision, rollout_now());
      m.last = {};
      m.fleet.alert_sent = false;
      persist(m);
      publish_weights();
      if (alerted) alerts_.resolve(m.model);  // the replica that sent the alert resolves it
      ++fleet_applied_["resume"];
      log_.write(LogLevel::info, "rollout_resumed",
                 {{"model", m.model}, {"by", "fleet"}, {"revision", m.controller->state().revision}, {"was_latched", true},
                  {"weight", m.controller->canary_weight_percent()}});
    }
  }
  // The alert mark: whoever sent the latch's alert marks it in the store once a receiver accepted it (fire()
  // only queues it). A latch nobody marked for a grace period (its winner died between its latch write and
  // its alert's delivery) is claimed, first claimer wins, and the claimer pages: a decision pages once (twice
  // at worst, when a delivery takes longer than the grace period), not zero times.
  if (v.latched && m.controller->state().latched && v.alerted.empty()) {
    if (m.fleet.alert_sent) {
      if (alerts_.delivered(m.model)) claim_alert(m);  // a mark: this replica's alert is out
    } else if (!m.fleet.unalerted_since) {
      m.fleet.unalerted_since = Clock::now();
    } else {
      const auto grace = std::max<Clock::duration>(std::chrono::seconds(2), 5 * fleet_cfg_->flush_every);
      if (Clock::now() - *m.fleet.unalerted_since >= grace) claim_alert(m);
    }
  } else {
    m.fleet.unalerted_since.reset();
  }
  if (newer) {
    std::optional<double> ov;
    if (!v.weight_override.empty()) ov = std::strtod(v.weight_override.c_str(), nullptr);
    if (ov != m.controller->state().weight_override && (!ov || (*ov >= 0 && *ov <= 100))) {
      m.controller->set_weight_override(ov);
      persist(m);
      publish_weights();
      ++fleet_applied_["weight"];
      log_.write(LogLevel::info, "rollout_weight_override",
                 {{"model", m.model}, {"by", "fleet"}, {"override", ov ? json::value(*ov) : json::value(nullptr)},
                  {"weight", m.controller->canary_weight_percent()}});
    }
  }
  m.fleet.applied_seq = v.seq;
  m.fleet.born = v.born;
}

void RolloutService::write_latch(ModelRollout& m) {
  if (!fleet_ || m.fleet.latch_in_flight || !m.controller->state().latched) return;
  const auto& st = m.controller->state();
  if (fleet_->submit_op({fleet::StateOp::Kind::latch, m.model, st.revision, fleet::state_key(fleet_cfg_->key_prefix, m.model, st.revision),
                         rollout::to_json(st), st.latched_at_unix_ms > 0 ? st.latched_at_unix_ms : unix_ms_now()}))
    m.fleet.latch_in_flight = true;
}

void RolloutService::claim_alert(ModelRollout& m) {
  if (!fleet_ || m.fleet.alert_claim_in_flight) return;
  const auto& st = m.controller->state();
  if (fleet_->submit_op({fleet::StateOp::Kind::alert, m.model, st.revision, fleet::state_key(fleet_cfg_->key_prefix, m.model, st.revision),
                         "", unix_ms_now()}))
    m.fleet.alert_claim_in_flight = true;
}

// Takes the fleet's latch (reason and numbers as the winner wrote them): persisted, weight 0, logged. No
// alert: the winner sends it.
void RolloutService::adopt_latch(ModelRollout& m, const fleet::StateView& v) {
  rollout::RolloutState st;
  std::string error;
  if (!rollout::from_json(v.latch, st, error) || !st.latched || st.revision != m.controller->state().revision) {
    st = m.controller->state();
    st.latched = true;
    st.latched_at_unix_ms = v.at_unix_ms;
    st.reason = rollout::LatchReason{"fleet", "", "", "latched by replica " + v.winner + " (its reason was unreadable: " + error + ")", {}};
  }
  const bool was_latched = m.controller->state().latched;
  st.weight_override = m.controller->state().weight_override;
  st.step = m.controller->state().step;
  const auto now = rollout_now();
  rollout::Windows windows = std::move(m.controller->windows());
  auto c = std::make_unique<rollout::Controller>(m.controller->config(), now, st);
  c->windows() = std::move(windows);
  m.controller = std::move(c);
  // alert_sent stays as it is: an alert this replica sent (during an outage, or as the first winner) is its
  // to resolve when the resume comes.
  m.fleet.adopted = true;
  const bool persisted = persist(m);
  publish_weights();
  ++fleet_applied_["latch"];
  const auto& s = m.controller->state();
  log_.write(was_latched ? LogLevel::info : LogLevel::warn, was_latched ? "fleet_latch_reason_adopted" : "rollback",
             {{"model", m.model}, {"by", "fleet"}, {"winner", v.winner}, {"revision", s.revision}, {"persisted", persisted},
              {"trigger", s.reason ? s.reason->trigger : ""}, {"slice", s.reason ? s.reason->slice : ""},
              {"weight", m.controller->canary_weight_percent()}});
}

json::value RolloutService::fleet_status() const {
  if (!fleet_cfg_) return nullptr;
  return json::object{{"store", fleet_cfg_->store},
                      {"replica_id", fleet_cfg_->replica_id},
                      {"store_up", store_up_},
                      {"error", store_up_ ? json::value(nullptr) : json::value(store_error_)},
                      {"replicas", fleet_replicas_},
                      {"on_store_loss", fleet_cfg_->on_store_loss == config::Fleet::OnStoreLoss::baseline ? "baseline" : "keep"},
                      {"judging_on", store_up_ ? "fleet" : "local"}};
}

}  // namespace slipway
