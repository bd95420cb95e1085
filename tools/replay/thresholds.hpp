// When a slice counts as regressed on a property. Defaults, overridable per property, per slice and per
// slice-and-property by a YAML file (--thresholds); the most specific setting wins.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace slipway::replay {

struct Rule {
  double max_drop_points = 5.0;    // candidate pass rate below baseline by more than this (percentage points)
  double confidence = 0.95;        // of the interval of the difference
  size_t min_cases = 10;           // fewer cases in the slice expecting the property: never judged
  bool require_significant = true; // also the interval's upper bound below 0
  bool enabled = true;             // false: reported, never judged
};

struct RulePatch {
  std::optional<double> max_drop_points;
  std::optional<double> confidence;
  std::optional<size_t> min_cases;
  std::optional<bool> require_significant;
  std::optional<bool> enabled;
  void apply(Rule& r) const;
};

struct SliceRules {
  RulePatch all_properties;
  std::map<std::string, RulePatch> properties;
};

struct Thresholds {
  Rule defaults;
  std::map<std::string, RulePatch> properties;  // every slice
  std::map<std::string, SliceRules> slices;     // by slice name ("all" included)

  // defaults < properties[p] < slices[s] < slices[s].properties[p]
  Rule rule_for(const std::string& slice, const std::string& property) const;
};

// Reads the YAML file; unknown keys, unknown property names and out-of-range values are errors, reported as
// "FILE:LINE: key.path: what is wrong".
bool load_thresholds(const std::string& path, Thresholds& out, std::string& error);
// The same from YAML text (`origin` names it in errors).
bool parse_thresholds(const std::string& yaml, const std::string& origin, Thresholds& out, std::string& error);

}  // namespace slipway::replay
