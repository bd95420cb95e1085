// The rollout's admin view (GET /admin/rollout, and the answer to each control call): per model, the
// configured and effective weights, the latch and its reason, the steps, and each trigger's last test.
#include <chrono>

#include <boost/json/array.hpp>

#include "gateway/rollout_config.hpp"
#include "gateway/rollout_report.hpp"
#include "gateway/rollout_service.hpp"

namespace slipway {

namespace json = boost::json;

json::object RolloutService::model_state(const config::Model& model, const ModelRuntime* rt) const {
  json::object o;
  o["model"] = model.name;
  o["configured_weight"] = model.canary ? json::value(model.canary->weight_percent) : json::value(nullptr);
  o["effective_weight"] = rt && rt->canary ? rt->canary_weight_percent : 0.0;
  auto it = models_.find(model.name);
  if (it == models_.end()) {
    o["rollout"] = nullptr;
    return o;
  }
  const ModelRollout& m = *it->second;
  const auto& c = *m.controller;
  const auto& st = c.state();
  json::object r;
  r["revision"] = st.revision;
  r["latched"] = st.latched;
  if (st.reason) {
    json::object reason{{"trigger", st.reason->trigger}, {"slice", st.reason->slice}, {"sli", st.reason->sli},
                        {"message", st.reason->message}};
    if (st.reason->trigger != "manual" && st.reason->trigger != "state_file") {
      double scale = 1.0;
      for (const auto& t : c.config().triggers)
        if (t.name == st.reason->trigger) scale = value_scale(t);
      reason["numbers"] = evaluation_json(st.reason->numbers, scale);
    }
    r["reason"] = std::move(reason);
  } else {
    r["reason"] = nullptr;
  }
  r["latched_at"] = st.latched ? json::value(iso8601(st.latched_at_unix_ms)) : json::value(nullptr);
  r["weight_override"] = st.weight_override ? json::value(*st.weight_override) : json::value(nullptr);
  r["step"] = c.config().steps.empty() ? json::value(nullptr) : json::value(st.step);
  json::array steps;
  for (const auto& s : c.config().steps)
    steps.push_back({{"weight_percent", s.weight_percent}, {"hold_s", std::chrono::duration<double>(s.hold).count()}});
  r["steps"] = std::move(steps);
  r["hold_reason"] = m.hold_reason;
  r["evaluations"] = [&] {
    auto e = evaluations_.find(m.model);
    return e == evaluations_.end() ? uint64_t{0} : e->second;
  }();
  json::array triggers;
  for (const auto& pr : m.last.results) {
    const auto& t = c.config().triggers[pr.trigger];
    json::object tr = evaluation_json(pr.eval, value_scale(t));
    tr["trigger"] = std::string(pr.trigger_name);
    tr["slice"] = std::string(pr.slice_name);
    tr["sli"] = sli_label(t);
    tr["min_samples"] = t.min_samples;
    triggers.push_back(std::move(tr));
  }
  r["triggers"] = std::move(triggers);
  o["rollout"] = std::move(r);
  return o;
}

json::object RolloutService::state() const {
  const auto snap = store_.current();
  json::object o;
  o["config_generation"] = snap->config->generation;
  o["config_source"] = snap->config->source;
  json::array models;
  for (const auto& rt : snap->models) models.push_back(model_state(*rt.config, &rt));
  o["models"] = std::move(models);
  if (fleet_cfg_) o["fleet"] = fleet_status();
  return o;
}

}  // namespace slipway
