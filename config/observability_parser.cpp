// `slices:` and `admin:`: the observability sections of the config (see docs/config.md, docs/metrics.md).
#include <yaml-cpp/yaml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <cstring>
#include "config/config.hpp"
#include "config/section_parsers.hpp"
#include "config/tls_parser.hpp"
#include "config/yaml_reader.hpp"

namespace slipway::config::detail {

namespace {
// A metric label value: [A-Za-z_][A-Za-z0-9_-]*, at most 64 characters.
bool is_label_value(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// The admin token from a file (a Kubernetes or systemd secret): read whole, trailing newlines trimmed.
// Empty, unreadable or larger than a token could be: reported through `fail`, nullopt.
template <class Fail>
std::optional<std::string> read_token_file(const std::string& file, Fail&& fail) {
  constexpr std::size_t kMaxTokenBytes = 4096;
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) {
    fail("cannot read \"" + file + "\": " + std::strerror(errno));
    return std::nullopt;
  }
  std::string text(kMaxTokenBytes + 1, '\0');
  const std::size_t n = std::fread(text.data(), 1, text.size(), f);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    fail("cannot read \"" + file + "\": " + std::strerror(err));
    return std::nullopt;
  }
  if (n > kMaxTokenBytes) {
    fail("\"" + file + "\" is larger than 4KiB; not a token file?");
    return std::nullopt;
  }
  text.resize(n);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    fail("\"" + file + "\" is empty");
    return std::nullopt;
  }
  return text;
}

}  // namespace

void parse_slices(Reader& r, const YAML::Node& node, const Config& cfg, std::vector<SliceRule>& out) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    r.error("slices", node, "expected a list, got " + detail::describe(node));
    return;
  }
  if (node.size() > kMaxSlices)
    r.error("slices", node, "at most " + std::to_string(kMaxSlices) + " slices (label cardinality), got " +
                                std::to_string(node.size()));
  std::vector<std::string> model_names, route_names;
  for (const auto& m : cfg.models) model_names.push_back(m.name);
  for (const auto& rt : cfg.routes) route_names.push_back(rt.name);
  std::vector<std::pair<std::string, int>> names;
  static const std::vector<std::string> kFormats = {"text", "json_object", "json_schema"};
  for (std::size_t i = 0; i < node.size() && i < kMaxSlices; ++i) {
    const YAML::Node sn = node[i];
    const std::string path = join_index("slices", i);
    if (!r.check_map(sn, path,
                     {"name", "prompt_tokens_over", "tools_at_least", "response_format", "schema_depth_at_least",
                      "stream", "header", "model", "route", "path_prefix"},
                     /*null_ok=*/false))
      continue;
    SliceRule rule;
    if (auto v = r.child(sn, "name")) {
      const std::string p = join_key(path, "name");
      if (r.read_string(*v, p, rule.name)) {
        auto dup = std::find_if(names.begin(), names.end(), [&](auto& e) { return e.first == rule.name; });
        if (!is_label_value(rule.name))
          r.error(p, *v, "must be 1..64 characters of letters, digits, _ and -, starting with a letter or _");
        else if (rule.name == "all")
          r.error(p, *v, "\"all\" is reserved (every request is counted under slice=\"all\")");
        else if (dup != names.end())
          r.error(p, *v, "duplicate slice name \"" + rule.name + "\" (first at line " + std::to_string(dup->second) + ")");
        else names.emplace_back(rule.name, detail::line_of(*v));
      }
    } else {
      r.error(join_key(path, "name"), sn, "required (the slice's metric label value)");
    }
    bool any = false;
    auto integer = [&](std::string_view key, long long min, long long max, std::optional<int64_t>& dst) {
      r.field(sn, key, path, [&](const YAML::Node& v, const std::string& p) {
        any = true;
        long long x;
        if (r.read_integer(v, p, min, max, x)) dst = x;
      });
    };
    integer("prompt_tokens_over", 0, 100'000'000, rule.prompt_tokens_over);
    integer("tools_at_least", 1, 1'000'000, rule.tools_at_least);
    integer("schema_depth_at_least", 1, 1024, rule.schema_depth_at_least);
    r.field(sn, "response_format", path, [&](const YAML::Node& v, const std::string& p) {
      any = true;
      std::string s;
      if (!r.read_string(v, p, s)) return;
      if (std::find(kFormats.begin(), kFormats.end(), s) == kFormats.end())
        r.error(p, v, "must be one of text, json_object, json_schema, got " + detail::describe(v) +
                          detail::did_you_mean(s, kFormats));
      else rule.response_format = s;
    });
    r.field(sn, "stream", path, [&](const YAML::Node& v, const std::string& p) {
      any = true;
      bool b = false;
      if (r.read_bool(v, p, b)) rule.stream = b;
    });
    r.field(sn, "header", path, [&](const YAML::Node& h, const std::string& hp) {
      any = true;
      if (!r.check_map(h, hp, {"name", "values"}, /*null_ok=*/false)) return;
      HeaderMatch hm;
      if (auto nv = r.child(h, "name")) read_header_name(r, *nv, join_key(hp, "name"), false, hm.name);
      else r.error(join_key(hp, "name"), h, "required (the header name)");
      r.field(h, "values", hp, [&](const YAML::Node& v, const std::string& p) { r.read_string_list(v, p, hm.values); });
      rule.header = std::move(hm);
    });
    auto named = [&](std::string_view key, const std::vector<std::string>& known, std::string_view what,
                     std::optional<std::string>& dst) {
      r.field(sn, key, path, [&](const YAML::Node& v, const std::string& p) {
        any = true;
        std::string s;
        if (!r.read_string(v, p, s)) return;
        if (std::find(known.begin(), known.end(), s) == known.end())
          r.error(p, v, "no " + std::string(what) + " named \"" + s + "\" is configured" + detail::did_you_mean(s, known));
        else dst = s;
      });
    };
    named("model", model_names, "model", rule.model);
    named("route", route_names, "route", rule.route);
    r.field(sn, "path_prefix", path, [&](const YAML::Node& v, const std::string& p) {
      any = true;
      std::string s;
      if (!r.read_string(v, p, s)) return;
      if (!s.starts_with("/")) r.error(p, v, "must start with \"/\", got " + detail::describe(v));
      else rule.path_prefix = s;
    });
    if (!any && sn.size() <= 1)
      r.error(path, sn, "needs at least one predicate (prompt_tokens_over, tools_at_least, response_format, "
                        "schema_depth_at_least, stream, header, model, route, path_prefix)");
    out.push_back(std::move(rule));
  }
}

void parse_admin(Reader& r, const YAML::Node& n, const std::string& path, Admin& out) {
  if (!r.check_map(n, path, {"address", "port", "token_env", "token_file", "tls"})) return;
  read_address_and_port(r, n, path, "127.0.0.1 or ::1", out.address, out.port);
  if (auto v = r.child(n, "tls")) parse_server_tls(r, *v, join_key(path, "tls"), out.tls);
  auto token_env = r.child(n, "token_env");
  auto token_file = r.child(n, "token_file");
  if (token_env && token_file) {
    r.error(join_key(path, "token_file"), *token_file, "set either token_env or token_file, not both");
    return;
  }
  r.field(n, "token_env", path, [&](const YAML::Node& v, const std::string& p) {
    std::string var;
    if (!r.read_string(v, p, var)) return;
    const char* val = var.empty() ? nullptr : std::getenv(var.c_str());
    if (var.empty()) r.error(p, v, "must name an environment variable");
    else if (!val || !*val) r.error(p, v, "environment variable \"" + var + "\" is not set or empty");
    else {
      out.token_env = var;
      out.token = std::string(val);
    }
  });
  r.field(n, "token_file", path, [&](const YAML::Node& v, const std::string& p) {
    std::string file;
    if (!r.read_string(v, p, file)) return;
    if (file.empty()) {
      r.error(p, v, "must name a file holding the admin token");
      return;
    }
    if (auto token = read_token_file(file, [&](const std::string& why) { r.error(p, v, why); })) {
      out.token_file = file;
      out.token = std::move(*token);
    }
  });
}

}  // namespace slipway::config::detail
