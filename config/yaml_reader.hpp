// Typed reads from yaml-cpp nodes with key paths ("models[0].canary.weight") and 1-based lines.
// Every read reports its problem into Reader::errors and carries on, so one pass over a document
// finds every error in it. Internal to the config library.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace slipway::config::detail {

std::string join_key(std::string_view base, std::string_view key);  // "a.b" + "c" -> "a.b.c"
std::string join_index(std::string_view base, std::size_t i);       // "models" + 2 -> "models[2]"
int line_of(const YAML::Node& node);                                 // 1-based; 0 when unknown
std::string describe(const YAML::Node& node);                        // "\"lots\"", "a list", "nothing"

std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within max_distance edits (first one wins a tie), if any.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates,
                                   std::size_t max_distance = 2);
// " (did you mean \"x\"?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// Value parsers on plain text; nullopt when the text is not of that form. No range checks.
std::optional<long long> parse_integer(std::string_view text);
std::optional<double> parse_number(std::string_view text);          // finite decimal, sign allowed
std::optional<long long> parse_size(std::string_view text);         // "4MiB", "512 B", "1.5GiB", "1024"
std::optional<long long> parse_duration_ms(std::string_view text);  // "250ms", "10s", "2m", "1h", "0.5"
std::string format_size(long long bytes);                            // 4194304 -> "4MiB"
std::string format_duration(long long ms);                           // 600000 -> "10m"

// A backend endpoint: "http://host:port", "host:port" or "[v6]:port" (a lone trailing "/" allowed).
// Returns "" and fills out (tls set for https://), or the reason it is not one (a path, no port, port out of 1..65535, ...).
std::string parse_endpoint(std::string_view text, Endpoint& out);

// RFC 9110 token characters (header field names).
bool is_header_name(std::string_view name);
std::string lower(std::string_view s);

// Loads the single YAML document in text. Syntax errors, a second document, and inputs on which
// yaml-cpp 0.7 would never return (YAML::LoadAll loops forever on a stray "," : jbeder/yaml-cpp#1040,
// fixed upstream by #1319 after 0.7) come back as one ConfigError. Never throws.
std::optional<ConfigError> load_single_document(const std::string& text, YAML::Node& out);

class Reader {
 public:
  std::vector<ConfigError> errors;

  void error(std::string path, int line, std::string message);
  void error(std::string path, const YAML::Node& at, std::string message) {
    error(std::move(path), line(at), std::move(message));
  }
  // line_of(node), except that an empty value ("key:" with nothing after it) reports its key's line:
  // yaml-cpp marks such a value at the next token, often on a later line.
  int line(const YAML::Node& node) const;

  // True when node is a mapping (a null node counts as an empty one when null_ok). Reports a type
  // error otherwise; reports every unknown key (with a suggestion) and every duplicate key.
  bool check_map(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known,
                 bool null_ok = true);
  // The value under key in a mapping checked by check_map, or nullopt when absent (or map is null).
  std::optional<YAML::Node> child(const YAML::Node& map, std::string_view key);

  // Typed reads of one value. On a problem: report it, leave out unchanged, return false.
  bool read_string(const YAML::Node& v, const std::string& path, std::string& out);
  bool read_bool(const YAML::Node& v, const std::string& path, bool& out);
  bool read_integer(const YAML::Node& v, const std::string& path, long long min, long long max, long long& out);
  bool read_size(const YAML::Node& v, const std::string& path, long long min, long long max, long long& out);
  bool read_duration(const YAML::Node& v, const std::string& path, long long min_ms, long long max_ms,
                     Duration& out);
  bool read_percent(const YAML::Node& v, const std::string& path, double& out);
  bool read_number(const YAML::Node& v, const std::string& path, double min, double max, double& out);
  // A list of strings; a non-string item is reported with its index.
  bool read_string_list(const YAML::Node& v, const std::string& path, std::vector<std::string>& out);
  // Calls read(value, path) when key is present in map.
  template <class F>
  void field(const YAML::Node& map, std::string_view key, const std::string& base, F&& read) {
    if (auto v = child(map, key)) read(*v, join_key(base, key));
  }

 private:
  std::vector<std::pair<YAML::Node, int>> empty_value_lines_;  // empty value -> its key's line
};

}  // namespace slipway::config::detail
