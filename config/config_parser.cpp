// parse_config / load_config_file: YAML text -> a validated, immutable Config snapshot.
// The whole document is read in one pass that records every problem (key path + line) rather than
// stopping at the first; the snapshot is only returned when there are none. docs/config.md is the
// reference for every key read here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "config/config.hpp"

#include <re2/re2.h>
#include "config/section_parsers.hpp"
#include "config/tls_parser.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config {

namespace detail {
// A header name: lower-cased, token characters only. "" allowed only when allow_empty.
void read_header_name(Reader& r, const YAML::Node& v, const std::string& path, bool allow_empty, std::string& out) {
  std::string s;
  if (!r.read_string(v, path, s)) return;
  if (s.empty() && allow_empty) {
    out.clear();
    return;
  }
  if (!detail::is_header_name(s)) {
    r.error(path, v, s.empty() ? "must not be empty" : "not a valid header name: \"" + s + "\"");
    return;
  }
  out = detail::lower(s);
}

void read_address_and_port(Reader& r, const YAML::Node& n, const std::string& path, std::string_view examples,
                           std::string& address, uint16_t& port) {
  r.field(n, "address", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (s.starts_with("[") && s.ends_with("]")) s = s.substr(1, s.size() - 2);
    // A listener binds an address literal (no name resolution at start or reload).
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
      r.error(p, v, "expected an IP address like " + std::string(examples) + ", got " + describe(v));
    else address = s;
  });
  r.field(n, "port", path, [&](const YAML::Node& v, const std::string& p) {
    long long value;
    if (r.read_integer(v, p, 0, 65535, value)) port = static_cast<uint16_t>(value);
  });
}

}  // namespace detail

namespace {

using detail::read_address_and_port;
using detail::read_header_name;

using detail::join_index;
using detail::join_key;
using detail::Reader;

constexpr long long KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr long long kMaxDurationMs = 24LL * 3'600'000;  // 24h: longer is a typo, not a timeout
constexpr std::size_t kMaxFileBytes = 16 * MiB;

void parse_listen(Reader& r, const YAML::Node& n, const std::string& path, Listener& out) {
  if (!r.check_map(n, path, {"address", "port", "tls"})) return;
  read_address_and_port(r, n, path, "0.0.0.0, 127.0.0.1 or ::", out.address, out.port);
  if (auto v = r.child(n, "tls")) detail::parse_server_tls(r, *v, join_key(path, "tls"), out.tls);
}

void parse_limits(Reader& r, const YAML::Node& n, const std::string& path, Limits& out) {
  if (!r.check_map(n, path, {"max_header_bytes", "max_body_bytes", "max_response_bytes", "max_json_depth",
                             "read_timeout", "idle_timeout", "max_connections"}))
    return;
  auto size = [&](std::string_view key, long long max, std::size_t& dst) {
    r.field(n, key, path, [&](const YAML::Node& v, const std::string& p) {
      long long b;
      if (r.read_size(v, p, 1, max, b)) dst = static_cast<std::size_t>(b);
    });
  };
  size("max_header_bytes", 1 * MiB, out.max_header_bytes);
  size("max_body_bytes", 1 * GiB, out.max_body_bytes);
  size("max_response_bytes", 1 * GiB, out.max_response_bytes);
  r.field(n, "max_json_depth", path, [&](const YAML::Node& v, const std::string& p) {
    long long d;
    if (r.read_integer(v, p, 1, 1024, d)) out.max_json_depth = static_cast<std::size_t>(d);
  });
  r.field(n, "read_timeout", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 1, kMaxDurationMs, out.read_timeout); });
  r.field(n, "idle_timeout", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 1, kMaxDurationMs, out.idle_timeout); });
  r.field(n, "max_connections", path, [&](const YAML::Node& v, const std::string& p) {
    long long c;
    if (r.read_integer(v, p, 1, 1'000'000, c)) out.max_connections = static_cast<std::size_t>(c);
  });
}

void parse_timeouts(Reader& r, const YAML::Node& n, const std::string& path, Timeouts& out) {
  if (!r.check_map(n, path, {"connect", "first_byte", "stream_idle", "total"})) return;
  auto dur = [&](std::string_view key, Duration& dst) {
    r.field(n, key, path,
            [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 1, kMaxDurationMs, dst); });
  };
  dur("connect", out.connect);
  dur("first_byte", out.first_byte);
  dur("stream_idle", out.stream_idle);
  dur("total", out.total);
}

void parse_health(Reader& r, const YAML::Node& n, const std::string& path, HealthPolicy& out) {
  if (!r.check_map(n, path, {"eject_after_failures", "eject_for", "check_interval", "check_path"})) return;
  r.field(n, "eject_after_failures", path, [&](const YAML::Node& v, const std::string& p) {
    long long k;
    if (r.read_integer(v, p, 1, 1'000'000, k)) out.eject_after_failures = static_cast<int>(k);
  });
  r.field(n, "eject_for", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 1, kMaxDurationMs, out.eject_for); });
  r.field(n, "check_interval", path, [&](const YAML::Node& v, const std::string& p) {
    r.read_duration(v, p, 0, kMaxDurationMs, out.check_interval);  // 0 disables active checks
  });
  r.field(n, "check_path", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (!s.starts_with("/") || s.find_first_of(" \t\r\n") != std::string::npos)
      r.error(p, v, "must be a path starting with \"/\", got " + detail::describe(v));
    else out.check_path = s;
  });
}

// "pass" | "fallback" | "reject".
void read_on_invalid(Reader& r, const YAML::Node& v, const std::string& path, OnInvalid& out) {
  static const std::vector<std::string> kPolicies = {"pass", "fallback", "reject"};
  std::string s;
  if (!r.read_string(v, path, s)) return;
  if (s == "pass") out = OnInvalid::pass;
  else if (s == "fallback") out = OnInvalid::fallback;
  else if (s == "reject") out = OnInvalid::reject;
  else r.error(path, v, "must be one of pass, fallback, reject, got " + detail::describe(v) + detail::did_you_mean(s, kPolicies));
}

void parse_validation(Reader& r, const YAML::Node& n, const std::string& path, Validation& out) {
  if (!r.check_map(n, path, {"enabled", "on_invalid", "max_schema_bytes", "max_schema_depth", "max_subschemas",
                             "max_regex_program_size", "max_assembled_bytes", "schema_cache_entries",
                             "refusal_extra_phrases", "refusal_threshold"}))
    return;
  r.field(n, "enabled", path, [&](const YAML::Node& v, const std::string& p) { r.read_bool(v, p, out.enabled); });
  r.field(n, "on_invalid", path,
          [&](const YAML::Node& v, const std::string& p) { read_on_invalid(r, v, p, out.on_invalid); });
  auto size = [&](std::string_view key, long long max, std::size_t& dst) {
    r.field(n, key, path, [&](const YAML::Node& v, const std::string& p) {
      long long b;
      if (r.read_size(v, p, 1, max, b)) dst = static_cast<std::size_t>(b);
    });
  };
  auto count = [&](std::string_view key, long long max, auto& dst) {
    r.field(n, key, path, [&](const YAML::Node& v, const std::string& p) {
      long long c;
      if (r.read_integer(v, p, 1, max, c)) dst = static_cast<std::remove_reference_t<decltype(dst)>>(c);
    });
  };
  size("max_schema_bytes", 16 * MiB, out.max_schema_bytes);
  count("max_schema_depth", 1024, out.max_schema_depth);
  count("max_subschemas", 1'000'000, out.max_subschemas);
  count("max_regex_program_size", 100'000, out.max_regex_program_size);
  size("max_assembled_bytes", 1 * GiB, out.max_assembled_bytes);
  count("schema_cache_entries", 1'000'000, out.schema_cache_entries);
  r.field(n, "refusal_extra_phrases", path, [&](const YAML::Node& v, const std::string& p) {
    std::vector<std::string> phrases;
    if (!r.read_string_list(v, p, phrases)) return;
    // Compiled here once so that a bad pattern rejects the file instead of failing later in a worker.
    bool ok = true;
    for (std::size_t i = 0; i < phrases.size(); ++i) {
      if (phrases[i].empty() || phrases[i].size() > 1000) {
        r.error(join_index(p, i), v[i], phrases[i].empty() ? "must not be empty" : "longer than 1000 characters");
        ok = false;
        continue;
      }
      RE2::Options opts;
      opts.set_log_errors(false);
      opts.set_case_sensitive(false);
      RE2 re(phrases[i], opts);
      if (!re.ok()) {
        r.error(join_index(p, i), v[i], "not a valid RE2 pattern: " + re.error());
        ok = false;
      }
    }
    if (ok) out.refusal_extra_phrases = std::move(phrases);
  });
  r.field(n, "refusal_threshold", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_number(v, p, 0.01, 100, out.refusal_threshold); });
}

// One variant (baseline or canary) of a model.
void parse_variant(Reader& r, const YAML::Node& n, const std::string& path, bool is_canary,
                   const std::string& model_name, Variant& out) {
  // "weight" is known to both so that a baseline weight gets its own message below.
  if (!r.check_map(n, path, {"served_model", "endpoints", "api_key_env", "api_key", "weight", "price"},
                   /*null_ok=*/false))
    return;
  if (!is_canary)
    if (auto w = r.child(n, "weight"))
      r.error(join_key(path, "weight"), *w, "only the canary has a weight; the baseline gets the rest");

  out.served_model = model_name;
  r.field(n, "served_model", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (s.empty()) r.error(p, v, "must not be empty (leave it out to use the model's name)");
    else out.served_model = s;
  });

  if (auto v = r.child(n, "endpoints")) {
    const std::string p = join_key(path, "endpoints");
    if (!v->IsSequence()) {
      r.error(p, *v, "expected a list of endpoints like [\"10.0.0.5:8000\"], got " + detail::describe(*v));
    } else if (v->size() == 0) {
      r.error(p, *v, "needs at least one endpoint");
    } else {
      for (std::size_t i = 0; i < v->size(); ++i) {
        const YAML::Node item = (*v)[i];
        const std::string ip = join_index(p, i);
        std::string text;
        if (!r.read_string(item, ip, text)) continue;
        Endpoint ep;
        if (std::string err = detail::parse_endpoint(text, ep); !err.empty()) {
          r.error(ip, item, err);
          continue;
        }
        auto dup = std::find_if(out.endpoints.begin(), out.endpoints.end(),
                                [&](const Endpoint& e) { return e.host == ep.host && e.port == ep.port; });
        if (dup != out.endpoints.end()) r.error(ip, item, "duplicate endpoint \"" + ep.label() + "\" in this pool");
        else out.endpoints.push_back(std::move(ep));
      }
    }
  } else {
    r.error(join_key(path, "endpoints"), n, "required (at least one endpoint like \"10.0.0.5:8000\")");
  }

  auto key_env = r.child(n, "api_key_env");
  auto key_lit = r.child(n, "api_key");
  if (key_env && key_lit) {
    r.error(join_key(path, "api_key"), *key_lit, "set either api_key_env or api_key, not both");
  } else if (key_env) {
    const std::string p = join_key(path, "api_key_env");
    std::string var;
    if (r.read_string(*key_env, p, var)) {
      const char* val = var.empty() ? nullptr : std::getenv(var.c_str());
      if (var.empty()) r.error(p, *key_env, "must name an environment variable");
      else if (!val) r.error(p, *key_env, "environment variable \"" + var + "\" is not set");
      else if (!*val) r.error(p, *key_env, "environment variable \"" + var + "\" is empty");
      else out.api_key = std::string(val);
    }
  } else if (key_lit) {
    const std::string p = join_key(path, "api_key");
    std::string key;
    if (r.read_string(*key_lit, p, key)) {
      if (key.empty()) r.error(p, *key_lit, "must not be empty (leave it out to send no key)");
      else out.api_key = key;
    }
  }

  r.field(n, "price", path, [&](const YAML::Node& v, const std::string& p) {
    if (!r.check_map(v, p, {"prompt_per_1k", "completion_per_1k"}, /*null_ok=*/false)) return;
    Variant::Price price;
    r.field(v, "prompt_per_1k", p,
            [&](const YAML::Node& x, const std::string& xp) { r.read_number(x, xp, 0, 1e6, price.prompt_per_1k); });
    r.field(v, "completion_per_1k", p, [&](const YAML::Node& x, const std::string& xp) {
      r.read_number(x, xp, 0, 1e6, price.completion_per_1k);
    });
    out.price = price;
  });

  if (is_canary) {
    r.field(n, "weight", path,
            [&](const YAML::Node& v, const std::string& p) { r.read_percent(v, p, out.weight_percent); });
  }
}

void parse_models(Reader& r, const YAML::Node& root, std::vector<Model>& out) {
  auto node = r.child(root, "models");
  if (!node || node->IsNull()) {
    r.error("models", node ? *node : root, "required (a list of models, each with a name and a baseline)");
    return;
  }
  if (!node->IsSequence()) {
    r.error("models", *node, "expected a list, got " + detail::describe(*node));
    return;
  }
  if (node->size() == 0) {
    r.error("models", *node, "needs at least one model");
    return;
  }
  std::vector<std::pair<std::string, int>> names;  // name, line: for duplicate reports
  for (std::size_t i = 0; i < node->size(); ++i) {
    const YAML::Node m = (*node)[i];
    const std::string path = join_index("models", i);
    // `rollout` is read by parse_rollout_settings, after slices (its triggers name them).
    if (!r.check_map(m, path, {"name", "baseline", "canary", "rollout", "shadow"}, /*null_ok=*/false)) continue;
    Model model;
    if (auto v = r.child(m, "name")) {
      const std::string p = join_key(path, "name");
      if (r.read_string(*v, p, model.name)) {
        if (model.name.empty()) {
          r.error(p, *v, "must not be empty");
        } else {
          auto dup = std::find_if(names.begin(), names.end(), [&](auto& e) { return e.first == model.name; });
          if (dup != names.end())
            r.error(p, *v, "duplicate model name \"" + model.name + "\" (first at line " + std::to_string(dup->second) + ")");
          else names.emplace_back(model.name, detail::line_of(*v));
        }
      }
    } else {
      r.error(join_key(path, "name"), m, "required (the model name clients send in \"model\")");
    }
    if (auto v = r.child(m, "baseline")) parse_variant(r, *v, join_key(path, "baseline"), false, model.name, model.baseline);
    else r.error(join_key(path, "baseline"), m, "required (the baseline variant with at least one endpoint)");
    if (auto v = r.child(m, "canary")) {
      Variant canary;
      parse_variant(r, *v, join_key(path, "canary"), true, model.name, canary);
      model.canary = std::move(canary);
    }
    r.field(m, "shadow", path, [&](const YAML::Node& v, const std::string& p) {
      if (!r.check_map(v, p, {"sample", "max_inflight"}, /*null_ok=*/false)) return;
      if (!model.canary) {
        r.error(p, v, "needs a canary (the shadow copy of a baseline request goes to the canary)");
        return;
      }
      Shadow shadow;
      if (!r.child(v, "sample")) r.error(join_key(p, "sample"), v, "required (the share of baseline requests to mirror, 0..1)");
      r.field(v, "sample", p, [&](const YAML::Node& x, const std::string& xp) { r.read_number(x, xp, 0, 1, shadow.sample); });
      r.field(v, "max_inflight", p, [&](const YAML::Node& x, const std::string& xp) {
        long long n;
        if (r.read_integer(x, xp, 1, 10'000, n)) shadow.max_inflight = static_cast<int>(n);
      });
      model.shadow = shadow;
    });
    out.push_back(std::move(model));
  }
}

void parse_routes(Reader& r, const YAML::Node& node, const std::vector<Model>& models, std::vector<RouteRule>& out) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    r.error("routes", node, "expected a list, got " + detail::describe(node));
    return;
  }
  std::vector<std::string> model_names;
  for (const auto& m : models)
    if (!m.name.empty()) model_names.push_back(m.name);
  std::vector<std::pair<std::string, int>> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node rt = node[i];
    const std::string path = join_index("routes", i);
    if (!r.check_map(rt, path, {"name", "match", "pin", "on_invalid"}, /*null_ok=*/false)) continue;
    RouteRule rule;
    if (auto v = r.child(rt, "name")) {
      const std::string p = join_key(path, "name");
      if (r.read_string(*v, p, rule.name)) {
        if (rule.name.empty()) {
          r.error(p, *v, "must not be empty");
        } else {
          auto dup = std::find_if(names.begin(), names.end(), [&](auto& e) { return e.first == rule.name; });
          if (dup != names.end())
            r.error(p, *v, "duplicate route name \"" + rule.name + "\" (first at line " + std::to_string(dup->second) + ")");
          else names.emplace_back(rule.name, detail::line_of(*v));
        }
      }
    } else {
      r.error(join_key(path, "name"), rt, "required (a name for logs and metrics)");
    }

    const std::string mpath = join_key(path, "match");
    auto match = r.child(rt, "match");
    if (!match) {
      r.error(mpath, rt, "required (at least one of header, model, path_prefix)");
    } else if (r.check_map(*match, mpath, {"header", "model", "path_prefix"}, /*null_ok=*/false)) {
      bool any = false;
      if (auto h = r.child(*match, "header")) {
        any = true;
        const std::string hp = join_key(mpath, "header");
        if (r.check_map(*h, hp, {"name", "values"}, /*null_ok=*/false)) {
          HeaderMatch hm;
          if (auto nv = r.child(*h, "name")) read_header_name(r, *nv, join_key(hp, "name"), false, hm.name);
          else r.error(join_key(hp, "name"), *h, "required (the header name)");
          r.field(*h, "values", hp,
                  [&](const YAML::Node& v, const std::string& p) { r.read_string_list(v, p, hm.values); });
          rule.header = std::move(hm);
        }
      }
      if (auto v = r.child(*match, "model")) {
        any = true;
        const std::string p = join_key(mpath, "model");
        std::string name;
        if (r.read_string(*v, p, name)) {
          if (std::find(model_names.begin(), model_names.end(), name) == model_names.end())
            r.error(p, *v, "no model named \"" + name + "\" is configured" + detail::did_you_mean(name, model_names));
          else rule.model = name;
        }
      }
      if (auto v = r.child(*match, "path_prefix")) {
        any = true;
        const std::string p = join_key(mpath, "path_prefix");
        std::string s;
        if (r.read_string(*v, p, s)) {
          if (!s.starts_with("/")) r.error(p, *v, "must start with \"/\", got " + detail::describe(*v));
          else rule.path_prefix = s;
        }
      }
      // Only unknown keys (already reported, e.g. "hedaer") would make this a second error for one typo.
      if (!any && match->size() == 0) r.error(mpath, *match, "needs at least one of header, model, path_prefix");
    }

    bool has_pin = false;
    r.field(rt, "pin", path, [&](const YAML::Node& v, const std::string& p) {
      has_pin = true;
      std::string s;
      if (!r.read_string(v, p, s)) return;
      if (s != "baseline") r.error(p, v, "must be \"baseline\" (the only pin supported), got " + detail::describe(v));
    });
    r.field(rt, "on_invalid", path, [&](const YAML::Node& v, const std::string& p) {
      OnInvalid policy = OnInvalid::pass;
      const std::size_t before = r.errors.size();
      read_on_invalid(r, v, p, policy);
      if (r.errors.size() == before) rule.on_invalid = policy;
      else rule.on_invalid = OnInvalid::pass;  // keeps "a rule with on_invalid does not pin" below
    });
    // A rule pins unless it only sets on_invalid: `pin` absent and `on_invalid` absent still pins.
    rule.pin_baseline = has_pin || !rule.on_invalid;
    out.push_back(std::move(rule));
  }
}

void parse_root(Reader& r, const YAML::Node& root, Config& cfg) {
  if (!root.IsDefined() || root.IsNull()) {
    r.error("models", 0, "required");
    return;
  }
  if (!root.IsMap()) {
    r.error("", root, "expected a mapping of settings at the top level, got " + detail::describe(root));
    return;
  }
  r.check_map(root, "",
              {"listen", "threads", "limits", "timeouts", "health", "sticky_header", "variant_header",
               "passthrough_v1", "log_level", "validation", "models", "routes", "slices", "admin",
               "metrics_on_main", "metrics_enabled", "state_dir", "rollout_evaluate_every", "alerting",
               "upstream_tls", "fleet"});
  if (auto v = r.child(root, "listen")) parse_listen(r, *v, "listen", cfg.listen);
  r.field(root, "threads", "", [&](const YAML::Node& v, const std::string& p) {
    long long t;
    if (r.read_integer(v, p, 0, 256, t)) cfg.threads = static_cast<int>(t);
  });
  if (auto v = r.child(root, "limits")) parse_limits(r, *v, "limits", cfg.limits);
  if (auto v = r.child(root, "timeouts")) parse_timeouts(r, *v, "timeouts", cfg.timeouts);
  if (auto v = r.child(root, "health")) parse_health(r, *v, "health", cfg.health);
  if (auto v = r.child(root, "validation")) parse_validation(r, *v, "validation", cfg.validation);
  r.field(root, "sticky_header", "",
          [&](const YAML::Node& v, const std::string& p) { read_header_name(r, v, p, true, cfg.sticky_header); });
  r.field(root, "variant_header", "",
          [&](const YAML::Node& v, const std::string& p) { read_header_name(r, v, p, true, cfg.variant_header); });
  r.field(root, "passthrough_v1", "",
          [&](const YAML::Node& v, const std::string& p) { r.read_bool(v, p, cfg.passthrough_v1); });
  r.field(root, "log_level", "", [&](const YAML::Node& v, const std::string& p) {
    static const std::vector<std::string> kLevels = {"debug", "info", "warn", "error"};
    std::string s;
    if (!r.read_string(v, p, s)) return;
    s = detail::lower(s);  // INFO and info alike
    if (std::find(kLevels.begin(), kLevels.end(), s) == kLevels.end())
      r.error(p, v, "must be one of debug, info, warn, error, got " + detail::describe(v) + detail::did_you_mean(s, kLevels));
    else cfg.log_level = s;
  });
  parse_models(r, root, cfg.models);
  if (auto v = r.child(root, "routes")) parse_routes(r, *v, cfg.models, cfg.routes);
  if (auto v = r.child(root, "slices")) parse_slices(r, *v, cfg, cfg.slices);
  parse_rollout_settings(r, root, cfg);  // models[].rollout, state_dir, rollout_evaluate_every, alerting
  parse_fleet(r, root, cfg);
  if (auto v = r.child(root, "admin")) {
    Admin admin;
    parse_admin(r, *v, "admin", admin);
    cfg.admin = std::move(admin);
  }
  if (auto v = r.child(root, "upstream_tls")) detail::parse_upstream_tls(r, *v, "upstream_tls", cfg.upstream_tls);
  r.field(root, "metrics_on_main", "",
          [&](const YAML::Node& v, const std::string& p) { r.read_bool(v, p, cfg.metrics_on_main); });
  r.field(root, "metrics_enabled", "",
          [&](const YAML::Node& v, const std::string& p) { r.read_bool(v, p, cfg.metrics_enabled); });
}

}  // namespace

ParseResult parse_config(std::string_view yaml_text, std::string_view source_name) {
  ParseResult result;
  YAML::Node root;
  if (auto err = detail::load_single_document(std::string(yaml_text), root)) {
    result.errors.push_back(std::move(*err));
    return result;
  }
  Reader r;
  auto cfg = std::make_shared<Config>();
  try {
    parse_root(r, root, *cfg);
  } catch (const YAML::Exception& e) {
    // Not expected (every access is type-checked first); never let a corner of yaml-cpp crash a reload.
    r.error("", e.mark.line < 0 ? 0 : e.mark.line + 1, std::string("unexpected YAML error: ") + e.what());
  }
  // Report in document order, so the list reads top to bottom like the file.
  std::stable_sort(r.errors.begin(), r.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  if (!r.errors.empty()) {
    result.errors = std::move(r.errors);
    return result;
  }
  cfg->source = std::string(source_name);
  cfg->generation = 0;
  result.config = std::move(cfg);
  return result;
}

ParseResult load_config_file(const std::string& path) {
  ParseResult result;
  auto fail = [&](const std::string& why) {
    result.errors.push_back(ConfigError{"", 0, "cannot read config file \"" + path + "\": " + why});
    return result;
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(std::strerror(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f);
    text.append(buf, n);
    if (text.size() > kMaxFileBytes) {
      std::fclose(f);
      return fail("larger than 16MiB");
    }
    if (n < sizeof buf) {
      if (std::ferror(f)) {
        const int err = errno;
        std::fclose(f);
        return fail(std::strerror(err));
      }
      break;
    }
  }
  std::fclose(f);
  return parse_config(text, path);
}

}  // namespace slipway::config
