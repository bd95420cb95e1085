#include "tools/replay/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace slipway::replay {

namespace bj = boost::json;

std::string_view to_string(RowVerdict v) {
  switch (v) {
    case RowVerdict::ok: return "ok";
    case RowVerdict::regressed: return "regressed";
    case RowVerdict::too_few_cases: return "too_few_cases";
    case RowVerdict::disabled: return "disabled";
  }
  return "ok";
}

bool SliceReport::regressed() const {
  return std::any_of(rows.begin(), rows.end(), [](const PropertyRow& r) { return r.verdict == RowVerdict::regressed; });
}

std::vector<std::string> Report::regressed_slices() const {
  std::vector<std::string> out;
  for (const auto& s : slices)
    if (s.regressed()) out.push_back(s.name);
  return out;
}

namespace {

constexpr size_t kMaxIdsListed = 20;

RowVerdict judge(const PropertyRow& row) {
  const Rule& r = row.rule;
  if (!r.enabled) return RowVerdict::disabled;
  if (row.counts.n() < r.min_cases) return RowVerdict::too_few_cases;
  const bool big = row.drop_points() > r.max_drop_points + 1e-9;
  const bool significant = row.ci.upper < 0;
  return big && (significant || !r.require_significant) ? RowVerdict::regressed : RowVerdict::ok;
}

SliceReport build_slice(const std::string& name, const std::vector<size_t>& members, const GoldenSet& golden,
                        const RunResult& run, const Thresholds& thresholds) {
  SliceReport s;
  s.name = name;
  s.cases = members.size();
  for (Property p : kAllProperties) {
    PropertyRow row;
    row.property = p;
    for (size_t i : members) {
      const GoldenCase& c = golden.cases[i];
      const CaseResult& r = run.cases[i];
      if (!c.expect.checks(p) || !r.done) continue;
      const bool b = r.baseline.passed(p), k = r.candidate.passed(p);
      if (b && k) ++row.counts.both;
      else if (b) {
        ++row.counts.baseline_only;
        if (row.lost_ids.size() < kMaxIdsListed) row.lost_ids.push_back(c.id);
      } else if (k) {
        ++row.counts.candidate_only;
        if (row.gained_ids.size() < kMaxIdsListed) row.gained_ids.push_back(c.id);
      } else {
        ++row.counts.neither;
      }
    }
    if (row.counts.n() == 0) continue;
    row.rule = thresholds.rule_for(name, std::string(to_string(p)));
    row.ci = newcombe_paired(row.counts, row.rule.confidence);
    row.verdict = judge(row);
    s.rows.push_back(std::move(row));
  }
  std::vector<double> lb, lc;
  for (size_t i : members) {
    const CaseResult& r = run.cases[i];
    if (!r.done) continue;
    if (r.baseline.completion_tokens) lb.push_back(static_cast<double>(*r.baseline.completion_tokens));
    if (r.candidate.completion_tokens) lc.push_back(static_cast<double>(*r.candidate.completion_tokens));
  }
  s.length.baseline_n = lb.size();
  s.length.candidate_n = lc.size();
  s.length.baseline_median = quantile(lb, 0.5);
  s.length.baseline_p90 = quantile(lb, 0.9);
  s.length.candidate_median = quantile(lc, 0.5);
  s.length.candidate_p90 = quantile(lc, 0.9);
  return s;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string pct(double rate) { return fmt("%.1f%%", 100.0 * rate); }
std::string points(double d) { return fmt("%+.1f", 100.0 * d); }
std::string num(double v) { return v == std::floor(v) ? fmt("%.0f", v) : fmt("%.1f", v); }

std::string join(const std::vector<std::string>& v, size_t total) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  if (total > v.size()) out += ", ... (" + std::to_string(total) + " in all)";
  return out;
}

std::string rule_text(const Rule& r) {
  std::string out = "drop > " + num(r.max_drop_points) + " points";
  if (r.require_significant) out += " and the " + num(100 * r.confidence) + "% CI's upper bound < 0";
  out += ", at least " + std::to_string(r.min_cases) + " cases";
  return out;
}

std::string side_line(const char* label, const std::string& url, const SideTotals& t) {
  return std::string("- ") + label + ": " + url + ": " + std::to_string(t.responded) + "/" + std::to_string(t.sent) +
         " answered, " + std::to_string(t.http_errors) + " HTTP errors, " + std::to_string(t.transport_errors) +
         " transport errors\n";
}

}  // namespace

Report build_report(const GoldenSet& golden, const RunResult& run, const Thresholds& thresholds, const Target& baseline,
                    const Target& candidate) {
  Report rep;
  rep.golden_path = golden.path;
  rep.golden_cases = golden.cases.size();
  rep.bad_lines = golden.bad_lines;
  rep.baseline_url = baseline.url;
  rep.candidate_url = candidate.url;
  rep.baseline = run.baseline;
  rep.candidate = run.candidate;
  rep.seconds = run.seconds;

  std::vector<size_t> all(golden.cases.size());
  std::map<std::string, std::vector<size_t>> by_slice;
  for (size_t i = 0; i < golden.cases.size(); ++i) {
    all[i] = i;
    for (const auto& tag : golden.cases[i].slices) by_slice[tag].push_back(i);
  }
  rep.slices.push_back(build_slice("all", all, golden, run, thresholds));
  for (const auto& [name, members] : by_slice) rep.slices.push_back(build_slice(name, members, golden, run, thresholds));
  return rep;
}

std::string render_markdown(const Report& rep) {
  std::string out = "# slipway-replay report\n\n";
  out += "- golden set: " + rep.golden_path + ": " + std::to_string(rep.golden_cases) + " cases";
  if (!rep.bad_lines.empty()) out += ", " + std::to_string(rep.bad_lines.size()) + " bad lines skipped";
  out += "\n";
  out += side_line("baseline", rep.baseline_url, rep.baseline);
  out += side_line("candidate", rep.candidate_url, rep.candidate);
  const auto regressed = rep.regressed_slices();
  if (regressed.empty()) {
    out += "- verdict: **no regression**\n";
  } else {
    out += "- verdict: **REGRESSION** in " + join(regressed, regressed.size()) + "\n";
  }

  out += "\n## Properties by slice\n\n";
  out += "Pass rate on each side, difference candidate - baseline in percentage points with its confidence interval "
         "(Newcombe, paired), flips = cases where exactly one side passes.\n\n";
  out += "| slice | property | n | baseline | candidate | difference [CI] | flips | verdict |\n";
  out += "|---|---|--:|--:|--:|---|--:|---|\n";
  for (const auto& s : rep.slices) {
    for (const auto& r : s.rows) {
      const double flip_rate = r.counts.n() ? static_cast<double>(r.counts.flips()) / static_cast<double>(r.counts.n()) : 0;
      std::string verdict;
      switch (r.verdict) {
        case RowVerdict::ok: verdict = "ok"; break;
        case RowVerdict::regressed: verdict = "**REGRESSED**"; break;
        case RowVerdict::too_few_cases: verdict = "n < " + std::to_string(r.rule.min_cases) + ", not judged"; break;
        case RowVerdict::disabled: verdict = "not judged (disabled)"; break;
      }
      out += "| " + s.name + " | " + std::string(to_string(r.property)) + " | " + std::to_string(r.counts.n()) + " | " +
             pct(r.counts.baseline_rate()) + " | " + pct(r.counts.candidate_rate()) + " | " +
             points(r.counts.difference()) + " [" + points(r.ci.lower) + ", " + points(r.ci.upper) + "]" +
             (r.rule.confidence != 0.95 ? " (" + num(100 * r.rule.confidence) + "%)" : "") + " | " +
             std::to_string(r.counts.flips()) + " (" + pct(flip_rate) + ") | " + verdict + " |\n";
    }
  }

  out += "\n## Completion length (tokens, usage.completion_tokens)\n\n";
  out += "| slice | answers (baseline/candidate) | baseline median | baseline p90 | candidate median | candidate p90 | "
         "median shift |\n";
  out += "|---|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& s : rep.slices) {
    const auto& l = s.length;
    std::string shift = "n/a";
    if (l.baseline_n && l.candidate_n) {
      shift = fmt("%+.1f", l.candidate_median - l.baseline_median);
      if (l.baseline_median > 0) shift += " (x" + fmt("%.2f", l.candidate_median / l.baseline_median) + ")";
    }
    out += "| " + s.name + " | " + std::to_string(l.baseline_n) + "/" + std::to_string(l.candidate_n) + " | " +
           num(l.baseline_median) + " | " + num(l.baseline_p90) + " | " + num(l.candidate_median) + " | " +
           num(l.candidate_p90) + " | " + shift + " |\n";
  }

  if (!regressed.empty()) {
    out += "\n## Regressions\n";
    for (const auto& s : rep.slices) {
      for (const auto& r : s.rows) {
        if (r.verdict != RowVerdict::regressed) continue;
        out += "\n### " + s.name + ": " + std::string(to_string(r.property)) + "\n\n";
        out += "baseline " + pct(r.counts.baseline_rate()) + " (" + std::to_string(r.counts.baseline_passes()) + "/" +
               std::to_string(r.counts.n()) + "), candidate " + pct(r.counts.candidate_rate()) + " (" +
               std::to_string(r.counts.candidate_passes()) + "/" + std::to_string(r.counts.n()) + "): " +
               points(r.counts.difference()) + " points, " + num(100 * r.rule.confidence) + "% CI [" +
               points(r.ci.lower) + ", " + points(r.ci.upper) + "]; threshold: " + rule_text(r.rule) + ".\n";
        if (!r.lost_ids.empty())
          out += "\nPassed on the baseline only: " + join(r.lost_ids, r.counts.baseline_only) + ".\n";
        if (!r.gained_ids.empty())
          out += "\nPassed on the candidate only: " + join(r.gained_ids, r.counts.candidate_only) + ".\n";
      }
    }
  }
  if (!rep.bad_lines.empty()) {
    out += "\n## Bad golden lines (skipped)\n\n";
    for (const auto& b : rep.bad_lines) out += "- line " + std::to_string(b.line) + ": " + b.error + "\n";
  }
  return out;
}

namespace {

bj::object side_json(const SideTotals& t, const std::string& url) {
  return bj::object{{"url", url},
                    {"sent", t.sent},
                    {"answered", t.responded},
                    {"http_errors", t.http_errors},
                    {"transport_errors", t.transport_errors},
                    {"connect_failures", t.connect_failures}};
}

bj::object outcome_json(const SideOutcome& o) {
  bj::object j;
  j["status"] = o.status;
  if (!o.error.empty()) j["error"] = o.error;
  if (o.completion_tokens) j["completion_tokens"] = *o.completion_tokens;
  bj::array passed, failed;
  for (Property p : kAllProperties) {
    const auto& v = o.pass[static_cast<size_t>(p)];
    if (!v) continue;
    if (*v) passed.emplace_back(to_string(p));
    else failed.emplace_back(bj::object{{"property", to_string(p)}, {"why", o.why[static_cast<size_t>(p)]}});
  }
  j["passed"] = std::move(passed);
  j["failed"] = std::move(failed);
  if (!o.findings.empty()) j["findings"] = o.findings;
  return j;
}

}  // namespace

std::string render_json(const Report& rep, const GoldenSet& golden, const RunResult& run) {
  bj::object root;
  root["golden"] = bj::object{{"path", rep.golden_path}, {"cases", rep.golden_cases}, {"bad_lines", rep.bad_lines.size()}};
  root["baseline"] = side_json(rep.baseline, rep.baseline_url);
  root["candidate"] = side_json(rep.candidate, rep.candidate_url);
  root["seconds"] = rep.seconds;
  const auto regressed = rep.regressed_slices();
  root["regressed"] = !regressed.empty();
  bj::array rs;
  for (const auto& s : regressed) rs.emplace_back(s);
  root["regressed_slices"] = std::move(rs);

  bj::array slices;
  for (const auto& s : rep.slices) {
    bj::array rows;
    for (const auto& r : s.rows) {
      const auto& c = r.counts;
      bj::array lost, gained;
      for (const auto& id : r.lost_ids) lost.emplace_back(id);
      for (const auto& id : r.gained_ids) gained.emplace_back(id);
      rows.emplace_back(bj::object{
          {"property", to_string(r.property)},
          {"n", c.n()},
          {"baseline", bj::object{{"passes", c.baseline_passes()}, {"rate", c.baseline_rate()}}},
          {"candidate", bj::object{{"passes", c.candidate_passes()}, {"rate", c.candidate_rate()}}},
          {"difference", c.difference()},
          {"ci", bj::object{{"lower", r.ci.lower}, {"upper", r.ci.upper}, {"confidence", r.rule.confidence}}},
          {"flips", c.flips()},
          {"flip_rate", c.n() ? static_cast<double>(c.flips()) / static_cast<double>(c.n()) : 0.0},
          {"baseline_only", c.baseline_only},
          {"candidate_only", c.candidate_only},
          {"verdict", to_string(r.verdict)},
          {"rule", bj::object{{"max_drop_points", r.rule.max_drop_points},
                              {"min_cases", r.rule.min_cases},
                              {"require_significant", r.rule.require_significant},
                              {"enabled", r.rule.enabled}}},
          {"lost_ids", std::move(lost)},
          {"gained_ids", std::move(gained)},
      });
    }
    const auto& l = s.length;
    slices.emplace_back(bj::object{
        {"name", s.name},
        {"cases", s.cases},
        {"regressed", s.regressed()},
        {"properties", std::move(rows)},
        {"completion_tokens", bj::object{{"baseline", bj::object{{"n", l.baseline_n}, {"median", l.baseline_median}, {"p90", l.baseline_p90}}},
                                         {"candidate", bj::object{{"n", l.candidate_n}, {"median", l.candidate_median}, {"p90", l.candidate_p90}}}}},
    });
  }
  root["slices"] = std::move(slices);

  bj::array bad;
  for (const auto& b : rep.bad_lines) bad.emplace_back(bj::object{{"line", b.line}, {"error", b.error}});
  root["bad_lines"] = std::move(bad);

  bj::array cases;
  for (size_t i = 0; i < golden.cases.size() && i < run.cases.size(); ++i) {
    const auto& c = golden.cases[i];
    const auto& r = run.cases[i];
    bj::array tags;
    for (const auto& t : c.slices) tags.emplace_back(t);
    bj::object j{{"id", c.id}, {"line", c.line}, {"slices", std::move(tags)}, {"done", r.done}};
    if (r.done) {
      j["baseline"] = outcome_json(r.baseline);
      j["candidate"] = outcome_json(r.candidate);
    }
    cases.emplace_back(std::move(j));
  }
  root["cases"] = std::move(cases);
  return bj::serialize(root) + "\n";
}

}  // namespace slipway::replay
