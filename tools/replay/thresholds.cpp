#include "tools/replay/thresholds.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "tools/replay/property.hpp"

namespace slipway::replay {

void RulePatch::apply(Rule& r) const {
  if (max_drop_points) r.max_drop_points = *max_drop_points;
  if (confidence) r.confidence = *confidence;
  if (min_cases) r.min_cases = *min_cases;
  if (require_significant) r.require_significant = *require_significant;
  if (enabled) r.enabled = *enabled;
}

Rule Thresholds::rule_for(const std::string& slice, const std::string& property) const {
  Rule r = defaults;
  if (auto it = properties.find(property); it != properties.end()) it->second.apply(r);
  if (auto s = slices.find(slice); s != slices.end()) {
    s->second.all_properties.apply(r);
    if (auto it = s->second.properties.find(property); it != s->second.properties.end()) it->second.apply(r);
  }
  return r;
}

namespace {

struct ParseError {
  std::string message;
};

[[noreturn]] void fail(const std::string& origin, const YAML::Node& n, const std::string& path, const std::string& what) {
  std::string where = origin;
  if (n.Mark().line >= 0) where += ":" + std::to_string(n.Mark().line + 1);
  throw ParseError{where + ": " + path + ": " + what};
}

template <typename T>
T scalar(const std::string& origin, const YAML::Node& n, const std::string& path, const char* expected) {
  if (!n.IsScalar()) fail(origin, n, path, std::string("must be ") + expected);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(origin, n, path, std::string("must be ") + expected + ", got \"" + n.Scalar() + "\"");
  }
}

// Reads the rule keys of map `n`; keys in `also` are left to the caller.
RulePatch read_patch(const std::string& origin, const YAML::Node& n, const std::string& path,
                     std::initializer_list<const char*> also = {}) {
  if (!n.IsMap()) fail(origin, n, path, "must be a map");
  RulePatch p;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string kp = path + "." + key;
    const YAML::Node& v = kv.second;
    if (key == "max_drop_points") {
      double d = scalar<double>(origin, v, kp, "a number of percentage points");
      if (!(d >= 0 && d <= 100)) fail(origin, v, kp, "must be between 0 and 100");
      p.max_drop_points = d;
    } else if (key == "confidence") {
      double d = scalar<double>(origin, v, kp, "a number");
      if (!(d > 0.5 && d < 1)) fail(origin, v, kp, "must be between 0.5 and 1 (exclusive), e.g. 0.95");
      p.confidence = d;
    } else if (key == "min_cases") {
      long long m = scalar<long long>(origin, v, kp, "an integer");
      if (m < 1) fail(origin, v, kp, "must be at least 1");
      p.min_cases = static_cast<size_t>(m);
    } else if (key == "require_significant") {
      p.require_significant = scalar<bool>(origin, v, kp, "true or false");
    } else if (key == "enabled") {
      p.enabled = scalar<bool>(origin, v, kp, "true or false");
    } else {
      bool allowed = false;
      for (const char* a : also) allowed = allowed || key == a;
      if (!allowed)
        fail(origin, kv.first, path, "unknown key \"" + key +
                                         "\" (expected max_drop_points, confidence, min_cases, require_significant, "
                                         "enabled)");
    }
  }
  return p;
}

std::map<std::string, RulePatch> read_properties(const std::string& origin, const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) fail(origin, n, path, "must be a map of property names");
  std::map<std::string, RulePatch> out;
  for (const auto& kv : n) {
    const std::string name = kv.first.as<std::string>();
    if (!property_from_string(name))
      fail(origin, kv.first, path,
           "unknown property \"" + name +
               "\" (valid, valid_json, schema_valid, tool, tool_args_valid, refuse, citation, length, answer, "
               "answer_normalized)");
    out[name] = read_patch(origin, kv.second, path + "." + name);
  }
  return out;
}

}  // namespace

bool parse_thresholds(const std::string& yaml, const std::string& origin, Thresholds& out, std::string& error) {
  Thresholds t;
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) {
      out = t;
      return true;
    }
    if (!root.IsMap()) fail(origin, root, "(top)", "must be a map with defaults, properties, slices");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key == "defaults") {
        read_patch(origin, kv.second, "defaults").apply(t.defaults);
      } else if (key == "properties") {
        t.properties = read_properties(origin, kv.second, "properties");
      } else if (key == "slices") {
        if (!kv.second.IsMap()) fail(origin, kv.second, "slices", "must be a map of slice names");
        for (const auto& s : kv.second) {
          const std::string name = s.first.as<std::string>();
          const std::string sp = "slices." + name;
          SliceRules rules;
          rules.all_properties = read_patch(origin, s.second, sp, {"properties"});
          if (const YAML::Node props = s.second["properties"]) rules.properties = read_properties(origin, props, sp + ".properties");
          t.slices[name] = std::move(rules);
        }
      } else {
        fail(origin, kv.first, "(top)", "unknown key \"" + key + "\" (expected defaults, properties, slices)");
      }
    }
  } catch (const ParseError& e) {
    error = e.message;
    return false;
  } catch (const YAML::Exception& e) {
    error = origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return false;
  }
  out = std::move(t);
  return true;
}

bool load_thresholds(const std::string& path, Thresholds& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_thresholds(ss.str(), path, out, error);
}

}  // namespace slipway::replay
