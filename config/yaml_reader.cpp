#include "config/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace slipway::config::detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "1.5GiB" into the number "1.5" and the unit "GiB" (spaces between them allowed).
std::pair<std::string_view, std::string_view> split_unit(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '-')) ++i;
  return {s.substr(0, i), trim(s.substr(i))};
}

// A double that fits a long long, clamped (the range checks report the out-of-range value as written).
long long clamp_to_ll(double d) {
  constexpr double kMax = 9.0e18;
  if (d >= kMax) return std::numeric_limits<long long>::max();
  if (d <= -kMax) return std::numeric_limits<long long>::min();
  return static_cast<long long>(d);
}

}  // namespace

std::string join_key(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  std::string out(base);
  out += '.';
  out += key;
  return out;
}

std::string join_index(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark m = node.Mark();
  return m.line < 0 ? 0 : m.line + 1;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string text = node.Scalar();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return "\"" + text + "\"";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates,
                                   std::size_t max_distance) {
  std::optional<std::string> best;
  std::size_t best_d = max_distance + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    // A suggestion must keep some of the word: "xy" is not a typo of "pin".
    if (d < best_d && d < word.size()) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  if (auto c = closest(word, candidates)) return " (did you mean \"" + *c + "\"?)";
  return "";
}

std::optional<long long> parse_integer(std::string_view text) {
  text = trim(text);
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  // Plain decimals only: from_chars would also take "inf", "nan" and hex-like forms.
  for (char c : text)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_size(std::string_view text) {
  auto [num, unit] = split_unit(text);
  double factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KiB") factor = 1024.0;
  else if (unit == "MiB") factor = 1024.0 * 1024;
  else if (unit == "GiB") factor = 1024.0 * 1024 * 1024;
  else return std::nullopt;
  if (factor == 1) return parse_integer(num);  // bytes are whole
  auto v = parse_number(num);
  if (!v) return std::nullopt;
  return clamp_to_ll(std::floor(*v * factor));
}

std::optional<long long> parse_duration_ms(std::string_view text) {
  auto [num, unit] = split_unit(text);
  double factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return std::nullopt;
  auto v = parse_number(num);
  if (!v) return std::nullopt;
  return clamp_to_ll(std::round(*v * factor));
}

std::string format_size(long long bytes) {
  constexpr long long K = 1024, M = K * K, G = M * K;
  if (bytes != 0 && bytes % G == 0) return std::to_string(bytes / G) + "GiB";
  if (bytes != 0 && bytes % M == 0) return std::to_string(bytes / M) + "MiB";
  if (bytes != 0 && bytes % K == 0) return std::to_string(bytes / K) + "KiB";
  return std::to_string(bytes) + "B";
}

std::string format_duration(long long ms) {
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// "http://host:port", "https://host:port", "host:port" or "[v6]:port"; a lone trailing "/" is allowed.
// Returns an error message, or "" on success.
std::string parse_endpoint(std::string_view text, Endpoint& out) {
  std::string_view s = text;
  out.tls = false;
  if (s.starts_with("https://")) {
    s.remove_prefix(8);
    out.tls = true;
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else if (auto p = s.find("://"); p != std::string_view::npos) {
    return "unsupported scheme \"" + std::string(s.substr(0, p)) +
           "\"; use http://host:port, https://host:port or host:port";
  }
  if (s.ends_with("/")) s.remove_suffix(1);
  if (auto slash = s.find('/'); slash != std::string_view::npos)
    return "must not have a path (got \"" + std::string(s.substr(slash)) +
           "\"); slipway forwards the client's path, e.g. /v1/chat/completions";
  std::string_view host, port;
  if (s.starts_with("[")) {
    auto close = s.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address in \"" + std::string(text) + "\"";
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.starts_with(":")) return "needs a port, like \"" + std::string(s) + ":8000\"";
    port = rest.substr(1);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return "needs a port, like \"" + std::string(s) + ":8000\"";
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return "an IPv6 address needs brackets, like \"[::1]:8000\"";
  }
  if (host.empty()) return "needs a host (got \"" + std::string(text) + "\")";
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '@' || c == '?' || c == '#')
      return "not a valid host: \"" + std::string(host) + "\"";
  auto n = parse_integer(port);
  if (!n) return "not a valid port: \"" + std::string(port) + "\"";
  if (*n < 1 || *n > 65535) return "port must be between 1 and 65535, got " + std::string(port);
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(*n);
  return "";
}

bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && kExtra.find(c) == std::string_view::npos) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

// Sees only where each document starts; stops the parser after a few documents.
struct DocumentProbe : YAML::EventHandler {
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& m) override { starts.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

int mark_line(const YAML::Mark& m) { return m.line < 0 ? 0 : m.line + 1; }

}  // namespace

std::optional<ConfigError> load_single_document(const std::string& text, YAML::Node& out) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentProbe probe;
    // At most three documents: enough to tell "one", "two" and "stuck" apart, and always terminates.
    for (int i = 0; i < 3 && parser.HandleNextDocument(probe); ++i) {
      const auto& s = probe.starts;
      if (s.size() >= 2 && s[s.size() - 1].pos == s[s.size() - 2].pos) {
        // No progress: yaml-cpp cannot consume the token here (e.g. a "," outside brackets).
        const YAML::Mark& m = s.back();
        std::string what = "character";
        if (m.pos >= 0 && static_cast<std::size_t>(m.pos) < text.size()) what = "\"" + std::string(1, text[m.pos]) + "\"";
        return ConfigError{"", mark_line(m), "YAML syntax error: unexpected " + what};
      }
    }
    if (probe.starts.size() >= 2)
      return ConfigError{"", mark_line(probe.starts[1]), "a config file holds one YAML document; a second one starts here"};
    out = YAML::Load(text);
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    return ConfigError{"", mark_line(e.mark), "YAML syntax error: " + e.msg};
  } catch (const std::exception& e) {
    return ConfigError{"", 0, std::string("YAML syntax error: ") + e.what()};
  }
}

void Reader::error(std::string path, int line, std::string message) {
  errors.push_back(ConfigError{std::move(path), line, std::move(message)});
}

bool Reader::check_map(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known,
                       bool null_ok) {
  if (!node.IsDefined() || node.IsNull()) {
    if (null_ok) return true;
    error(path, node, "expected a mapping, got nothing");
    return false;
  }
  if (!node.IsMap()) {
    error(path, node, "expected a mapping, got " + describe(node));
    return false;
  }
  std::vector<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(path, key, "keys must be plain names, got " + describe(key));
      continue;
    }
    const std::string& k = key.Scalar();
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      error(path, key, "duplicate key \"" + k + "\"");
      continue;
    }
    seen.push_back(k);
    if (std::find(known.begin(), known.end(), k) == known.end())
      error(path, key, "unknown key \"" + k + "\"" + did_you_mean(k, known));
  }
  return true;
}

std::optional<YAML::Node> Reader::child(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar() != key) continue;
    if (it->second.IsNull()) empty_value_lines_.emplace_back(it->second, line_of(it->first));
    return it->second;
  }
  return std::nullopt;
}

int Reader::line(const YAML::Node& node) const {
  if (node.IsDefined() && node.IsNull())
    for (const auto& [n, l] : empty_value_lines_)
      if (n.is(node)) return l;
  return line_of(node);
}

bool Reader::read_string(const YAML::Node& v, const std::string& path, std::string& out) {
  if (!v.IsScalar()) {
    error(path, v, "expected a string, got " + describe(v));
    return false;
  }
  out = v.Scalar();
  return true;
}

bool Reader::read_bool(const YAML::Node& v, const std::string& path, bool& out) {
  bool b = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
    error(path, v, "expected true or false, got " + describe(v));
    return false;
  }
  out = b;
  return true;
}

bool Reader::read_integer(const YAML::Node& v, const std::string& path, long long min, long long max,
                          long long& out) {
  std::optional<long long> n;
  if (v.IsScalar()) n = parse_integer(v.Scalar());
  if (!n) {
    error(path, v, "expected an integer, got " + describe(v));
    return false;
  }
  if (*n < min || *n > max) {
    error(path, v, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                       v.Scalar());
    return false;
  }
  out = *n;
  return true;
}

bool Reader::read_size(const YAML::Node& v, const std::string& path, long long min, long long max,
                       long long& out) {
  std::optional<long long> n;
  if (v.IsScalar()) n = parse_size(v.Scalar());
  if (!n) {
    error(path, v, "expected a size like 4MiB, got " + describe(v));
    return false;
  }
  if (*n < min || *n > max) {
    error(path, v, "must be between " + format_size(min) + " and " + format_size(max) + ", got " + v.Scalar());
    return false;
  }
  out = *n;
  return true;
}

bool Reader::read_duration(const YAML::Node& v, const std::string& path, long long min_ms, long long max_ms,
                           Duration& out) {
  std::optional<long long> n;
  if (v.IsScalar()) n = parse_duration_ms(v.Scalar());
  if (!n) {
    error(path, v, "expected a duration like 10s, got " + describe(v));
    return false;
  }
  // A positive value under a millisecond rounds to 0 and is reported against the minimum as written.
  if (*n < min_ms || *n > max_ms) {
    error(path, v, "must be between " + format_duration(min_ms) + " and " + format_duration(max_ms) + ", got " +
                       v.Scalar());
    return false;
  }
  out = Duration(*n);
  return true;
}

bool Reader::read_percent(const YAML::Node& v, const std::string& path, double& out) {
  std::optional<double> n;
  if (v.IsScalar()) {
    std::string_view text = trim(v.Scalar());
    if (!text.empty() && text.back() == '%') text.remove_suffix(1);
    n = parse_number(text);
  }
  if (!n) {
    error(path, v, "expected a percentage like 10 or 0.5, got " + describe(v));
    return false;
  }
  if (*n < 0 || *n > 100) {
    error(path, v, "must be between 0 and 100, got " + v.Scalar());
    return false;
  }
  out = *n;
  return true;
}

bool Reader::read_number(const YAML::Node& v, const std::string& path, double min, double max, double& out) {
  std::optional<double> n;
  if (v.IsScalar()) n = parse_number(v.Scalar());
  if (!n) {
    error(path, v, "expected a number, got " + describe(v));
    return false;
  }
  if (*n < min || *n > max) {
    auto fmt = [](double d) {
      std::string t = std::to_string(d);
      while (t.find('.') != std::string::npos && (t.back() == '0' || t.back() == '.')) {
        const bool dot = t.back() == '.';
        t.pop_back();
        if (dot) break;
      }
      return t;
    };
    error(path, v, "must be between " + fmt(min) + " and " + fmt(max) + ", got " + v.Scalar());
    return false;
  }
  out = *n;
  return true;
}

bool Reader::read_string_list(const YAML::Node& v, const std::string& path, std::vector<std::string>& out) {
  if (!v.IsSequence()) {
    error(path, v, "expected a list, got " + describe(v));
    return false;
  }
  bool ok = true;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string s;
    if (read_string(v[i], join_index(path, i), s)) items.push_back(std::move(s));
    else ok = false;
  }
  if (ok) out = std::move(items);
  return ok;
}

}  // namespace slipway::config::detail
