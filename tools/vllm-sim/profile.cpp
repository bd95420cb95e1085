// vllm-sim: the YAML slippage profile (strict: unknown kinds and keys are errors naming key and line),
// and the `when` conditions of its rules.
#include "tools/vllm-sim/sim.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace sim {
namespace {

constexpr std::array kSlipKinds = {
    "invalid_json",   "schema_violation", "tool_bad_json", "tool_wrong_type", "tool_missing_required",
    "tool_unknown_function", "tool_in_content", "tool_empty_args", "refusal", "missed_refusal",
    "truncation",     "longer_output",    "slow_tail",     "empty"};
constexpr std::array kFaultKinds = {"http_500", "http_503", "slow", "reset_mid_stream", "garbage",
                                    "endless_stream", "stall"};

struct Ctx {
  std::string file;
  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& msg) const {
    int line = n.Mark().line;  // 0-based; -1 when unknown
    std::string where = file + (line >= 0 ? ":" + std::to_string(line + 1) : std::string());
    throw ProfileError(where + ": " + (path.empty() ? std::string("(top)") : path) + ": " + msg);
  }
  void only_keys(const YAML::Node& n, const std::string& path, std::initializer_list<std::string_view> keys) const {
    if (!n.IsMap()) fail(n, path, "expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      auto k = it->first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), k) == keys.end())
        fail(it->first, path, "unknown key \"" + k + "\"");
    }
  }
  double num(const YAML::Node& n, const std::string& path, double lo, double hi) const {
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected a number");
    }
    if (v < lo || v > hi) fail(n, path, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  bool boolean(const YAML::Node& n, const std::string& path) const {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(n, path, "expected true or false");
    }
  }
  std::string str(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) fail(n, path, "expected a string");
    return n.as<std::string>();
  }
};

When parse_when(const Ctx& c, const YAML::Node& n, const std::string& path) {
  c.only_keys(n, path, {"min_prompt_tokens", "min_schema_depth", "tools", "min_tools", "header", "stream"});
  When w;
  if (auto v = n["min_prompt_tokens"]) w.min_prompt_tokens = int(c.num(v, path + ".min_prompt_tokens", 0, 1e9));
  if (auto v = n["min_schema_depth"]) w.min_schema_depth = int(c.num(v, path + ".min_schema_depth", 0, 1000));
  if (auto v = n["min_tools"]) w.min_tools = int(c.num(v, path + ".min_tools", 0, 1e6));
  if (auto v = n["tools"]) w.tools = c.boolean(v, path + ".tools");
  if (auto v = n["stream"]) w.stream = c.boolean(v, path + ".stream");
  if (auto h = n["header"]) {
    c.only_keys(h, path + ".header", {"name", "value"});
    if (!h["name"] || !h["value"]) c.fail(h, path + ".header", "needs both name and value");
    std::string name = c.str(h["name"], path + ".header.name");
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    w.header = std::make_pair(name, c.str(h["value"], path + ".header.value"));
  }
  return w;
}

std::vector<Rule> parse_rules(const Ctx& c, const YAML::Node& n, const std::string& name, bool faults) {
  if (!n.IsSequence()) c.fail(n, name, "expected a list");
  std::vector<Rule> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const YAML::Node r = n[i];
    std::string path = name + "[" + std::to_string(i) + "]";
    if (faults)
      c.only_keys(r, path, {"kind", "p", "when", "delay_ms"});
    else
      c.only_keys(r, path, {"kind", "p", "when"});
    if (!r["kind"]) c.fail(r, path, "missing key \"kind\"");
    Rule rule;
    rule.kind = c.str(r["kind"], path + ".kind");
    bool ok = faults ? is_fault_kind(rule.kind) : is_slip_kind(rule.kind);
    if (!ok) c.fail(r["kind"], path + ".kind", "unknown kind \"" + rule.kind + "\"");
    if (auto p = r["p"]) rule.p = c.num(p, path + ".p", 0, 1);
    if (auto w = r["when"]) rule.when = parse_when(c, w, path + ".when");
    if (auto d = r["delay_ms"]) rule.delay_ms = c.num(d, path + ".delay_ms", 0, 3.6e6);
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

bool is_slip_kind(std::string_view k) {
  return std::find(kSlipKinds.begin(), kSlipKinds.end(), k) != kSlipKinds.end();
}
bool is_fault_kind(std::string_view k) {
  return std::find(kFaultKinds.begin(), kFaultKinds.end(), k) != kFaultKinds.end();
}

Profile load_profile(const std::string& path) {
  Ctx c{path};
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ProfileError(path + ": cannot open file");
  } catch (const YAML::ParserException& e) {
    throw ProfileError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  Profile p;
  if (root.IsNull()) return p;
  try {
    c.only_keys(root, "", {"seed", "timing", "refuse_when_prompt_contains", "slippage", "faults"});
    if (auto s = root["seed"]) p.seed = static_cast<std::uint64_t>(c.num(s, "seed", 0, 9.0e15));
    if (auto t = root["timing"]) {
      c.only_keys(t, "timing", {"ttft_ms", "token_ms", "output_tokens", "tail"});
      if (auto v = t["ttft_ms"]) p.timing.ttft_ms = c.num(v, "timing.ttft_ms", 0, 3.6e6);
      if (auto v = t["token_ms"]) p.timing.token_ms = c.num(v, "timing.token_ms", 0, 3.6e6);
      if (auto v = t["output_tokens"]) p.timing.output_tokens = int(c.num(v, "timing.output_tokens", 0, 1e6));
      if (auto tail = t["tail"]) {
        c.only_keys(tail, "timing.tail", {"p", "extra_ms"});
        if (auto v = tail["p"]) p.timing.tail_p = c.num(v, "timing.tail.p", 0, 1);
        if (auto v = tail["extra_ms"]) p.timing.tail_extra_ms = c.num(v, "timing.tail.extra_ms", 0, 3.6e6);
      }
    }
    if (auto r = root["refuse_when_prompt_contains"]) {
      if (!r.IsSequence()) c.fail(r, "refuse_when_prompt_contains", "expected a list of strings");
      p.refuse_phrases.clear();
      for (std::size_t i = 0; i < r.size(); ++i)
        p.refuse_phrases.push_back(c.str(r[i], "refuse_when_prompt_contains[" + std::to_string(i) + "]"));
    }
    if (auto s = root["slippage"]) p.slippage = parse_rules(c, s, "slippage", false);
    if (auto f = root["faults"]) p.faults = parse_rules(c, f, "faults", true);
  } catch (const YAML::Exception& e) {
    throw ProfileError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return p;
}

std::string_view find_header(const Headers& h, std::string_view lname) {
  for (auto& [k, v] : h)
    if (k == lname) return v;
  return {};
}

bool when_matches(const When& w, const Features& f) {
  if (w.min_prompt_tokens && f.prompt_tokens < *w.min_prompt_tokens) return false;
  if (w.min_schema_depth && f.schema_depth < *w.min_schema_depth) return false;
  if (w.min_tools && f.n_tools < *w.min_tools) return false;
  if (w.tools && (*w.tools != (f.n_tools > 0))) return false;
  if (w.stream && *w.stream != f.stream) return false;
  if (w.header) {
    if (!f.headers) return false;
    bool found = false;
    for (auto& [k, v] : *f.headers)
      if (k == w.header->first && v == w.header->second) found = true;
    if (!found) return false;
  }
  return true;
}

}  // namespace sim
