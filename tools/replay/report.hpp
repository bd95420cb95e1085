// The replay's report: per slice ("all" first, then each tag) and per property, both pass rates, their
// difference with a confidence interval, the flip rate and the verdict of the thresholds; completion-length
// quantiles per side. Rendered as Markdown (stdout, .md) or JSON (.json).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/replay/golden_case.hpp"
#include "tools/replay/http_target.hpp"
#include "tools/replay/property.hpp"
#include "tools/replay/runner.hpp"
#include "tools/replay/stats.hpp"
#include "tools/replay/thresholds.hpp"

namespace slipway::replay {

enum class RowVerdict { ok, regressed, too_few_cases, disabled };
std::string_view to_string(RowVerdict v);

struct PropertyRow {
  Property property = Property::valid;
  PairedCounts counts;
  Interval ci;  // of candidate - baseline, at rule.confidence
  Rule rule;
  RowVerdict verdict = RowVerdict::ok;
  std::vector<std::string> lost_ids;    // passed on the baseline only
  std::vector<std::string> gained_ids;  // passed on the candidate only

  double drop_points() const { return -100.0 * counts.difference(); }
};

struct LengthRow {
  size_t baseline_n = 0, candidate_n = 0;  // answers with usage
  double baseline_median = 0, baseline_p90 = 0;
  double candidate_median = 0, candidate_p90 = 0;
};

struct SliceReport {
  std::string name;
  size_t cases = 0;
  std::vector<PropertyRow> rows;  // properties some case of the slice expects, in report order
  LengthRow length;
  bool regressed() const;
};

struct Report {
  std::string golden_path;
  size_t golden_cases = 0;
  std::vector<BadLine> bad_lines;
  std::string baseline_url, candidate_url;
  SideTotals baseline, candidate;
  double seconds = 0;
  std::vector<SliceReport> slices;

  std::vector<std::string> regressed_slices() const;
};

Report build_report(const GoldenSet& golden, const RunResult& run, const Thresholds& thresholds,
                    const Target& baseline, const Target& candidate);

std::string render_markdown(const Report& report);
// The report plus one entry per case and side (status, failed properties and why, the validators' findings).
std::string render_json(const Report& report, const GoldenSet& golden, const RunResult& run);

}  // namespace slipway::replay
