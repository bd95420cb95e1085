// What the rollout controller and the alert notifier read: `models[].rollout` (triggers, steps),
// `state_dir`, `rollout_evaluate_every` and `alerting`. docs/config.md#rollout is the reference for every key
// read here; docs/judgement.md explains what the trigger parameters mean statistically.
//
// Runs after models and slices are parsed, because a rollout needs its model's canary (weights, prices) and
// a trigger may name a slice.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/section_parsers.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config::detail {

namespace {

constexpr long long kSecondMs = 1'000, kMinuteMs = 60'000, kHourMs = 3'600'000;
// A trigger's window lives in a ring of buckets per (variant, slice), each bucket up to a few KiB of
// counters and histograms (gateway/rollout/window.hpp), allocated up front. 1,440 buckets bounds that ring
// (x 2 variants x up to 33 slices per model) and still allows 4h of 10s buckets or 24h of 1m buckets.
constexpr long long kMaxRingBuckets = 1440;
// Each trigger is tested on every slice it covers, and the error budget is split over all of them
// (docs/judgement.md): many triggers cost power as well as CPU.
constexpr std::size_t kMaxTriggers = 32;

// A trigger name is a metric and alert label value and part of log lines: keep it plain.
bool is_trigger_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

struct SliSpelling {
  std::string_view name;
  TriggerSli sli;
  double quantile;  // > 0 for a shorthand that also sets the quantile
};
constexpr SliSpelling kSlis[] = {
    {"validation_failure_rate", TriggerSli::validation_failure_rate, 0},
    {"tool_call_failure_rate", TriggerSli::tool_call_failure_rate, 0},
    {"refusal_rate", TriggerSli::refusal_rate, 0},
    {"truncation_rate", TriggerSli::truncation_rate, 0},
    {"upstream_error_rate", TriggerSli::upstream_error_rate, 0},
    {"latency", TriggerSli::latency, 0},
    {"time_to_first_token", TriggerSli::time_to_first_token, 0},
    {"output_tokens", TriggerSli::output_tokens, 0},
    {"cost_per_success", TriggerSli::cost_per_success, 0},
    {"shadow_disagreement_rate", TriggerSli::shadow_disagreement_rate, 0},
    {"latency_p95", TriggerSli::latency, 0.95},
    {"latency_p99", TriggerSli::latency, 0.99},
    {"ttft_p95", TriggerSli::time_to_first_token, 0.95},
    {"ttft_p99", TriggerSli::time_to_first_token, 0.99},
};

// Rates are compared as proportions (direction, absolute tolerance); distributions at a quantile.
bool is_rate(TriggerSli s) {
  switch (s) {
    case TriggerSli::validation_failure_rate:
    case TriggerSli::tool_call_failure_rate:
    case TriggerSli::refusal_rate:
    case TriggerSli::truncation_rate:
    case TriggerSli::upstream_error_rate:
    case TriggerSli::shadow_disagreement_rate:
      return true;
    default:
      return false;
  }
}

// The key node of `key` in a mapping (for errors about a section as a whole, reported at its key's line).
YAML::Node key_node(const YAML::Node& map, std::string_view key) {
  if (map.IsMap())
    for (auto it = map.begin(); it != map.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
  return map;
}

// "http://host[:port][/path]" -> "" and `normalized` = "http://host:port[/path]" (the port written out,
// IPv6 in brackets), or what is wrong with it. Host and port go through parse_endpoint, as backends do.
std::string parse_http_url(std::string_view text, bool port_required, bool path_allowed, std::string& normalized) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.starts_with("https://")) return "https:// is not supported yet; use http:// (got " + quoted + ")";
  if (!text.starts_with("http://"))
    return "must be an http:// URL like " + std::string(port_required ? "http://127.0.0.1:9093" : "http://pager.internal/hook") +
           ", got " + quoted;
  std::string_view rest = text.substr(7);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path == "/") path = {};
  if (!path.empty() && !path_allowed)
    return "must not have a path (got \"" + std::string(path) + "\"); slipway adds /api/v2/alerts itself";
  if (path.find_first_of(" \t\r\n#") != std::string_view::npos) return "not a valid URL path: \"" + std::string(path) + "\"";
  const bool bracketed = authority.starts_with("[");
  const bool has_port = bracketed ? authority.find("]:") != std::string_view::npos
                                  : authority.find(':') != std::string_view::npos;
  std::string host_port(authority);
  if (!has_port) {
    if (port_required) return "needs a host and a port, like http://127.0.0.1:9093 (got " + quoted + ")";
    host_port += ":80";
  }
  Endpoint ep;
  if (std::string err = parse_endpoint(host_port, ep); !err.empty()) return err;
  const bool v6 = ep.host.find(':') != std::string::npos;
  normalized = "http://" + (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port) + std::string(path);
  return "";
}

// An environment variable's value for a secret read at load time; reports the variable by name.
std::optional<std::string> read_env_secret(Reader& r, const YAML::Node& v, const std::string& path, std::string& var) {
  if (!r.read_string(v, path, var)) return std::nullopt;
  if (var.empty()) {
    r.error(path, v, "must name an environment variable (leave it out to send unsigned)");
    return std::nullopt;
  }
  const char* val = std::getenv(var.c_str());
  if (!val) r.error(path, v, "environment variable \"" + var + "\" is not set");
  else if (!*val) r.error(path, v, "environment variable \"" + var + "\" is empty");
  else return std::string(val);
  return std::nullopt;
}

class RolloutParser {
 public:
  RolloutParser(Reader& r, const Config& cfg, const Model& model) : r_(r), cfg_(cfg), model_(model) {}

  // `key` is the "rollout" key node (a section-level error is reported at its line).
  void parse(const YAML::Node& key, const YAML::Node& n, const std::string& path, Rollout& out) {
    if (!r_.check_map(n, path, {"revision", "bucket", "steps", "triggers"}, /*null_ok=*/false)) return;
    if (!model_.canary)
      r_.error(path, key, "needs a canary: a rollout judges the canary against the baseline");

    if (auto v = r_.child(n, "revision")) {
      const std::string p = join_key(path, "revision");
      std::string s;
      if (r_.read_string(*v, p, s)) {
        const bool printable = std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
        if (s.empty() || s.size() > 128 || !printable)
          r_.error(p, *v, "must be 1..128 printable characters (e.g. a date and a counter, \"2026-11-23.1\")");
        else out.revision = s;
      }
    } else {
      r_.error(join_key(path, "revision"), key,
               "required (a string such as \"2026-11-23.1\"; a new value resumes a latched rollback)");
    }

    bool bucket_ok = true;
    r_.field(n, "bucket", path, [&](const YAML::Node& v, const std::string& p) {
      bucket_ok = r_.read_duration(v, p, 1 * kSecondMs, 10 * kMinuteMs, out.bucket);
    });
    if (auto v = r_.child(n, "steps")) parse_steps(*v, join_key(path, "steps"), out.steps);
    if (auto v = r_.child(n, "triggers")) {
      parse_triggers(*v, join_key(path, "triggers"), bucket_ok ? &out.bucket : nullptr, out.triggers);
    } else {
      r_.error(join_key(path, "triggers"), key, "required (at least one trigger, e.g. {name: schema_compliance, "
                                                "sli: validation_failure_rate})");
    }
  }

 private:
  Reader& r_;
  const Config& cfg_;
  const Model& model_;

  void parse_steps(const YAML::Node& node, const std::string& path, std::vector<RolloutStep>& out) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      r_.error(path, node, "expected a list of steps like [{weight: 1, hold: 10m}], got " + describe(node));
      return;
    }
    const double canary_weight = model_.canary ? model_.canary->weight_percent : 0.0;
    std::optional<double> previous;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node s = node[i];
      const std::string sp = join_index(path, i);
      if (!r_.check_map(s, sp, {"weight", "hold"}, /*null_ok=*/false)) continue;
      RolloutStep step;
      bool weight_ok = false;
      if (auto v = r_.child(s, "weight")) {
        const std::string p = join_key(sp, "weight");
        double w = 0;
        if (r_.read_percent(*v, p, w)) {
          if (w <= 0) {
            r_.error(p, *v, "must be more than 0 (a step with no traffic would never gather its minimum sample)");
          } else if (model_.canary && w > canary_weight) {
            r_.error(p, *v, "must not exceed the canary's weight (" + v->Scalar() + " > " + format_percent(canary_weight) +
                                "); the last step may equal it");
          } else if (previous && w <= *previous) {
            r_.error(p, *v, "step weights must increase strictly (" + v->Scalar() + " after " + format_percent(*previous) + ")");
          } else {
            step.weight_percent = w;
            weight_ok = true;
          }
          previous = w;
        }
      } else {
        r_.error(join_key(sp, "weight"), s, "required (the canary's percent of traffic during this step)");
      }
      r_.field(s, "hold", sp, [&](const YAML::Node& v, const std::string& p) {
        r_.read_duration(v, p, 1 * kSecondMs, 7 * 24 * kHourMs, step.hold);
      });
      if (weight_ok) out.push_back(step);
    }
  }

  // A weight as a person writes it: 5, 0.5, 12.25.
  static std::string format_percent(double w) {
    std::ostringstream out;
    out << w;
    return out.str();
  }

  void parse_triggers(const YAML::Node& node, const std::string& path, const Duration* bucket,
                      std::vector<Trigger>& out) {
    if (!node.IsSequence()) {
      r_.error(path, node, "expected a list of triggers, got " + describe(node));
      return;
    }
    if (node.size() == 0) {
      r_.error(path, node, "needs at least one trigger");
      return;
    }
    if (node.size() > kMaxTriggers)
      r_.error(path, node, "at most " + std::to_string(kMaxTriggers) + " triggers per model, got " + std::to_string(node.size()));
    std::vector<std::pair<std::string, int>> names;  // name, line: for duplicate reports
    for (std::size_t i = 0; i < node.size() && i < kMaxTriggers; ++i) {
      Trigger t;
      if (parse_trigger(node[i], join_index(path, i), bucket, names, t)) out.push_back(std::move(t));
    }
  }

  bool parse_trigger(const YAML::Node& n, const std::string& path, const Duration* bucket,
                     std::vector<std::pair<std::string, int>>& names, Trigger& t) {
    if (!r_.check_map(n, path,
                      {"name", "sli", "slice", "window", "min_samples", "tolerance", "confidence", "direction",
                       "quantile"},
                      /*null_ok=*/false))
      return false;

    if (auto v = r_.child(n, "name")) {
      const std::string p = join_key(path, "name");
      if (r_.read_string(*v, p, t.name)) {
        auto dup = std::find_if(names.begin(), names.end(), [&](auto& e) { return e.first == t.name; });
        if (!is_trigger_name(t.name))
          r_.error(p, *v, "must be 1..64 characters of a-z, 0-9 and _ (it becomes a metric and alert label), got " +
                              describe(*v));
        else if (dup != names.end())
          r_.error(p, *v, "duplicate trigger name \"" + t.name + "\" in this model (first at line " +
                              std::to_string(dup->second) + ")");
        else names.emplace_back(t.name, line_of(*v));
      }
    } else {
      r_.error(join_key(path, "name"), n, "required (a name like schema_compliance: a metric and alert label)");
    }

    // The SLI decides which of direction, quantile and tolerance.absolute apply.
    std::optional<SliSpelling> sli;
    if (auto v = r_.child(n, "sli")) sli = read_sli(*v, join_key(path, "sli"));
    else r_.error(join_key(path, "sli"), n, "required (e.g. validation_failure_rate or latency_p95)");
    if (sli) {
      t.sli = sli->sli;
      if (sli->quantile > 0) t.quantile = sli->quantile;
    }
    const bool rate = sli && is_rate(sli->sli);
    const bool distribution = sli && !is_rate(sli->sli);

    r_.field(n, "slice", path, [&](const YAML::Node& v, const std::string& p) { read_slice(v, p, t.slice); });

    std::optional<YAML::Node> window_node;  // absent: the default window, which must fit the bucket too
    bool window_ok = true;
    r_.field(n, "window", path, [&](const YAML::Node& v, const std::string& p) {
      window_ok = r_.read_duration(v, p, 1 * kSecondMs, 24 * kHourMs, t.window);
      window_node = v;
    });
    if (window_ok && bucket) check_window(join_key(path, "window"), window_node ? *window_node : n, !window_node, t.window, *bucket);

    r_.field(n, "min_samples", path, [&](const YAML::Node& v, const std::string& p) {
      long long m;
      if (r_.read_integer(v, p, 10, 1'000'000'000, m)) t.min_samples = static_cast<uint64_t>(m);
    });

    r_.field(n, "tolerance", path, [&](const YAML::Node& v, const std::string& p) {
      if (!r_.check_map(v, p, {"absolute", "relative"}, /*null_ok=*/false)) return;
      r_.field(v, "absolute", p, [&](const YAML::Node& x, const std::string& xp) {
        if (distribution)
          r_.error(xp, x, "only rate SLIs take an absolute tolerance; a " + std::string(sli->name) +
                              " trigger takes tolerance.relative (0.1 = 10 % above the baseline)");
        else r_.read_number(x, xp, 0, 1, t.tolerance_abs);
      });
      r_.field(v, "relative", p,
               [&](const YAML::Node& x, const std::string& xp) { r_.read_number(x, xp, 0, 10, t.tolerance_rel); });
    });

    r_.field(n, "confidence", path,
             [&](const YAML::Node& v, const std::string& p) { r_.read_number(v, p, 0.5, 0.999999, t.confidence); });

    r_.field(n, "direction", path, [&](const YAML::Node& v, const std::string& p) {
      static const std::vector<std::string> kDirections = {"higher_is_worse", "lower_is_worse", "either"};
      std::string s;
      if (!r_.read_string(v, p, s)) return;
      if (s == "higher_is_worse") t.direction = TriggerDirection::higher_is_worse;
      else if (s == "lower_is_worse") t.direction = TriggerDirection::lower_is_worse;
      else if (s == "either") t.direction = TriggerDirection::either;
      else {
        r_.error(p, v, "must be one of higher_is_worse, lower_is_worse, either, got " + describe(v) + did_you_mean(s, kDirections));
        return;
      }
      if (distribution)
        r_.error(p, v, "only rate SLIs take a direction; a " + std::string(sli->name) +
                           " trigger fires when the canary's quantile is higher than the baseline's");
    });

    r_.field(n, "quantile", path, [&](const YAML::Node& v, const std::string& p) {
      if (rate) {
        r_.error(p, v, "only distribution SLIs (latency, time_to_first_token, output_tokens, cost_per_success) take a "
                       "quantile; " + std::string(sli->name) + " is a rate");
        return;
      }
      if (sli && sli->quantile > 0) {
        r_.error(p, v, "sli " + std::string(sli->name) + " sets the quantile already; write the SLI's long name "
                       "(e.g. latency) to choose another");
        return;
      }
      double q = 0;
      if (!r_.read_number(v, p, 0, 1, q)) return;
      if (q <= 0 || q >= 1) r_.error(p, v, "must be strictly between 0 and 1 (0.95 for p95), got " + v.Scalar());
      else t.quantile = q;
    });
    return true;
  }

  std::optional<SliSpelling> read_sli(const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r_.read_string(v, p, s)) return std::nullopt;
    const auto it = std::find_if(std::begin(kSlis), std::end(kSlis), [&](const SliSpelling& e) { return e.name == s; });
    if (it == std::end(kSlis)) {
      std::vector<std::string> known;
      std::string list;
      for (const auto& e : kSlis) {
        known.emplace_back(e.name);
        list += (list.empty() ? "" : ", ") + std::string(e.name);
      }
      r_.error(p, v, "must be one of " + list + ", got " + describe(v) + did_you_mean(s, known));
      return std::nullopt;
    }
    if (it->sli == TriggerSli::cost_per_success) {
      const bool baseline_priced = model_.baseline.price.has_value();
      const bool canary_priced = model_.canary && model_.canary->price;
      if (!baseline_priced || (model_.canary && !canary_priced)) {
        r_.error(p, v, std::string("cost_per_success needs a price on both variants (") +
                           (!baseline_priced ? "baseline" : "canary") + ".price is missing)");
        return std::nullopt;
      }
    }
    if (it->sli == TriggerSli::shadow_disagreement_rate && !model_.shadow) {
      r_.error(p, v, "shadow_disagreement_rate needs the model's shadow block (shadow: {sample: ...})");
      return std::nullopt;
    }
    return *it;
  }

  void read_slice(const YAML::Node& v, const std::string& p, std::string& out) {
    std::string s;
    if (!r_.read_string(v, p, s)) return;
    std::vector<std::string> names;
    for (const auto& sl : cfg_.slices) names.push_back(sl.name);
    if (s == "all") {
      out = s;
    } else if (s == "each") {
      if (names.empty()) r_.error(p, v, "\"each\" tests every named slice, but no slices are configured (see slices:)");
      else out = s;
    } else if (std::find(names.begin(), names.end(), s) == names.end()) {
      names.insert(names.begin(), {"all", "each"});
      r_.error(p, v, "must be all, each or a slice name; no slice named \"" + s + "\" is configured" + did_you_mean(s, names));
    } else {
      out = s;
    }
  }

  void check_window(const std::string& p, const YAML::Node& at, bool is_default, Duration window, Duration bucket) {
    const std::string what = is_default ? "the default window " + format_duration(window.count()) : at.Scalar();
    const std::string b = format_duration(bucket.count());
    const auto buckets = window / bucket;
    if (window % bucket != Duration::zero())
      r_.error(p, at, "must be a multiple of rollout.bucket (" + b + "), got " + what + (is_default ? "; set window" : ""));
    else if (buckets < 2)
      r_.error(p, at, "must be at least two buckets (rollout.bucket is " + b + "), got " + what);
    else if (buckets > kMaxRingBuckets)
      r_.error(p, at, "at most " + std::to_string(kMaxRingBuckets) + " buckets (memory), got " + what + " = " +
                          std::to_string(buckets) + " buckets of " + b + "; raise rollout.bucket" +
                          (is_default ? " or set window" : ""));
  }
};

void parse_alerting(Reader& r, const YAML::Node& key, const YAML::Node& n, const std::string& path, Alerting& out) {
  if (!r.check_map(n, path, {"alertmanager", "webhook", "runbook_url", "generator_url", "resend_every", "timeout"}))
    return;
  out.runbook_url = "docs/runbook.md#canary-rolled-back";

  // `url` of a receiver, required.
  auto url = [&](const YAML::Node& section, const std::string& sp, bool port_required, bool path_allowed,
                 std::string& dst) {
    auto v = r.child(section, "url");
    if (!v) {
      r.error(join_key(sp, "url"), section, port_required ? "required (e.g. http://127.0.0.1:9093)"
                                                          : "required (e.g. http://pager.internal:8080/hook)");
      return;
    }
    const std::string p = join_key(sp, "url");
    std::string text;
    if (!r.read_string(*v, p, text)) return;
    if (std::string err = parse_http_url(text, port_required, path_allowed, dst); !err.empty()) r.error(p, *v, err);
  };

  if (auto v = r.child(n, "alertmanager")) {
    const std::string p = join_key(path, "alertmanager");
    if (r.check_map(*v, p, {"url"}, /*null_ok=*/false)) {
      Alerting::Alertmanager am;
      url(*v, p, /*port_required=*/true, /*path_allowed=*/false, am.url);
      out.alertmanager = std::move(am);
    }
  }
  if (auto v = r.child(n, "webhook")) {
    const std::string p = join_key(path, "webhook");
    if (r.check_map(*v, p, {"url", "secret_env"}, /*null_ok=*/false)) {
      Alerting::Webhook wh;
      url(*v, p, /*port_required=*/false, /*path_allowed=*/true, wh.url);
      r.field(*v, "secret_env", p, [&](const YAML::Node& x, const std::string& xp) {
        std::string var;
        if (auto secret = read_env_secret(r, x, xp, var)) {
          wh.secret_env = var;
          wh.secret = std::move(secret);
        }
      });
      out.webhook = std::move(wh);
    }
  }
  if (!r.child(n, "alertmanager") && !r.child(n, "webhook"))
    r.error(path, key, "needs a receiver: alertmanager, webhook or both (leave alerting out to only log and export)");

  r.field(n, "runbook_url", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (s.empty()) r.error(p, v, "must not be empty (leave it out for docs/runbook.md#canary-rolled-back)");
    else out.runbook_url = s;
  });
  r.field(n, "generator_url", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_string(v, p, out.generator_url); });
  r.field(n, "resend_every", path, [&](const YAML::Node& v, const std::string& p) {
    r.read_duration(v, p, 1 * kSecondMs, 24 * kHourMs, out.resend_every);
  });
  r.field(n, "timeout", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 1, 10 * kMinuteMs, out.timeout); });
}

}  // namespace

void parse_rollout_settings(Reader& r, const YAML::Node& root, Config& cfg) {
  r.field(root, "state_dir", "", [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (s.find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos)
      r.error(p, v, "not a valid directory name");
    else cfg.state_dir = s;
  });
  r.field(root, "rollout_evaluate_every", "", [&](const YAML::Node& v, const std::string& p) {
    r.read_duration(v, p, 100, 1 * kMinuteMs, cfg.rollout_evaluate_every);
  });

  // models[i].rollout. parse_models pushed one Model per mapping item, in order.
  if (auto models = r.child(root, "models"); models && models->IsSequence()) {
    std::size_t k = 0;
    for (std::size_t i = 0; i < models->size(); ++i) {
      const YAML::Node m = (*models)[i];
      if (!m.IsMap()) continue;
      if (k >= cfg.models.size()) break;
      Model& model = cfg.models[k++];
      if (auto v = r.child(m, "rollout")) {
        Rollout rollout;
        RolloutParser(r, cfg, model).parse(key_node(m, "rollout"), *v, join_key(join_index("models", i), "rollout"), rollout);
        model.rollout = std::move(rollout);
      }
    }
  }

  if (auto v = r.child(root, "alerting")) {
    Alerting alerting;
    parse_alerting(r, key_node(root, "alerting"), *v, "alerting", alerting);
    cfg.alerting = std::move(alerting);
  }
}

}  // namespace slipway::config::detail
