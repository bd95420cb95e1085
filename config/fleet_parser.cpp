// `fleet:` (docs/fleet.md): where the replicas of one gateway share their rollout windows and latch (Redis),
// under which key prefix, who this replica is, and what the canary does while the store is unreachable.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/section_parsers.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config::detail {

namespace {

// Key prefixes and replica ids are parts of Redis keys and metric/log values: keep them plain.
bool is_plain_name(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// The host name, cut to what is_plain_name accepts (a pod's name in Kubernetes).
std::string default_replica_id() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !*buf) return "replica";
  std::string s(buf);
  for (char& c : s)
    if (!is_plain_name(std::string_view(&c, 1), 1)) c = '-';
  if (s.size() > 128) s.resize(128);
  return s;
}

}  // namespace

std::string parse_redis_url(std::string_view text, Fleet& out) {
  constexpr std::string_view kScheme = "redis://";
  if (!text.starts_with(kScheme)) return "must be redis://host:port[/db] (e.g. redis://127.0.0.1:6379/0)";
  std::string_view rest = text.substr(kScheme.size());
  if (rest.find('@') != std::string_view::npos)
    return "credentials in the URL are not supported (run the store on a private network; docs/fleet.md)";
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view db = rest.size() > authority.size() ? rest.substr(authority.size() + 1) : std::string_view();
  std::string_view host, port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed [ in the host";
    host = authority.substr(1, close - 1);
    if (authority.size() > close + 1) {
      if (authority[close + 1] != ':') return "expected :port after ]";
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) return "needs a host (e.g. redis://127.0.0.1:6379)";
  out.host = std::string(host);
  out.port = 6379;
  if (!port.empty()) {
    auto p = parse_integer(port);
    if (!p || *p < 1 || *p > 65535) return "port must be 1..65535, got \"" + std::string(port) + "\"";
    out.port = static_cast<uint16_t>(*p);
  }
  out.db = 0;
  if (!db.empty()) {
    auto d = parse_integer(db);
    if (!d || *d < 0 || *d > 1'000'000) return "database must be a number >= 0, got \"" + std::string(db) + "\"";
    out.db = static_cast<int>(*d);
  }
  out.store = std::string(text);
  return {};
}

namespace {

void parse_fleet_section(Reader& r, const YAML::Node& key, const YAML::Node& n, const std::string& path, Fleet& out) {
  if (!r.check_map(n, path, {"store", "key_prefix", "replica_id", "on_store_loss", "timeout", "flush_every"},
                   /*null_ok=*/false))
    return;
  if (auto v = r.child(n, "store")) {
    const std::string p = join_key(path, "store");
    std::string text;
    if (r.read_string(*v, p, text))
      if (std::string err = parse_redis_url(text, out); !err.empty()) r.error(p, *v, err);
  } else {
    r.error(join_key(path, "store"), key, "required (e.g. redis://127.0.0.1:6379/0)");
  }
  r.field(n, "key_prefix", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (!is_plain_name(s, 64)) r.error(p, v, "1..64 characters of a-z A-Z 0-9 _ - . (it starts every key)");
    else out.key_prefix = s;
  });
  out.replica_id = default_replica_id();
  r.field(n, "replica_id", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (!is_plain_name(s, 128)) r.error(p, v, "1..128 characters of a-z A-Z 0-9 _ - . (default: the host name)");
    else out.replica_id = s;
  });
  r.field(n, "on_store_loss", path, [&](const YAML::Node& v, const std::string& p) {
    std::string s;
    if (!r.read_string(v, p, s)) return;
    if (s == "keep") out.on_store_loss = Fleet::OnStoreLoss::keep;
    else if (s == "baseline") out.on_store_loss = Fleet::OnStoreLoss::baseline;
    else r.error(p, v, "must be keep or baseline, got " + describe(v) + did_you_mean(s, {"keep", "baseline"}));
  });
  r.field(n, "timeout", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 10, 5'000, out.timeout); });
  r.field(n, "flush_every", path,
          [&](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, 100, 60'000, out.flush_every); });
}

}  // namespace

void parse_fleet(Reader& r, const YAML::Node& root, Config& cfg) {
  auto v = r.child(root, "fleet");
  if (!v) return;
  // The key's node, for errors about the section as a whole. (reset, not =: assigning a yaml-cpp node writes
  // through to the node it refers to.)
  YAML::Node key;
  key.reset(*v);
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == "fleet") key.reset(it->first);
  Fleet fleet;
  parse_fleet_section(r, key, *v, "fleet", fleet);
  cfg.fleet = std::move(fleet);
}

}  // namespace slipway::config::detail
