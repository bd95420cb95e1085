#include "gateway/status_page.hpp"

#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace slipway {

namespace json = boost::json;

namespace {

const SeriesTotals* find_totals(const std::map<SeriesKey, SeriesTotals>& m, const SeriesKey& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

json::value rate(uint64_t part, uint64_t whole) {
  if (whole == 0) return nullptr;
  return static_cast<double>(part) / static_cast<double>(whole);
}

json::object counts_json(const SliCounts& c) {
  return {{"requests", c.requests},
          {"judged", c.judged},
          {"failed", c.failed},
          {"failure_rate", rate(c.failed, c.judged)},
          {"findings", c.findings},
          {"finding_rate", rate(c.findings, c.judged)},
          {"refusals", c.refusals},
          {"refusal_rate", rate(c.refusals, c.judged)},
          {"truncations", c.truncations},
          {"truncation_rate", rate(c.truncations, c.judged)}};
}

// Without a rollout control: what the config says (the effective weight is the configured one).
json::object state_from_config(const Snapshot& snapshot) {
  json::array models;
  for (const auto& m : snapshot.models) {
    json::value w = m.canary ? json::value(m.canary->config->weight_percent) : json::value(nullptr);
    models.push_back(json::object{{"model", m.config->name}, {"configured_weight", w}, {"effective_weight", w},
                                  {"rollout", nullptr}});
  }
  return {{"config_generation", snapshot.config->generation}, {"models", std::move(models)}};
}

// Per-interval counts of one series: between consecutive samples, then from the last sample to now.
void chart_points(const StatusHistory& history, const std::map<SeriesKey, SeriesTotals>& now, const SeriesKey& key,
                  json::array& judged, json::array& failed) {
  static const SeriesTotals zero{};
  const auto& samples = history.samples();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const SeriesTotals* before = find_totals(samples[i].totals, key);
    const SeriesTotals* after = i + 1 < samples.size() ? find_totals(samples[i + 1].totals, key) : find_totals(now, key);
    SliCounts c = sli_counts(after ? *after : zero, before);
    judged.push_back(c.judged);
    failed.push_back(c.failed);
  }
}

}  // namespace

json::object status_document(const Snapshot& snapshot, RolloutControl* control, const StatusHistory& history,
                             const std::map<SeriesKey, SeriesTotals>& now, int64_t now_unix_ms) {
  const config::Config& cfg = *snapshot.config;
  const auto& samples = history.samples();
  const StatusSample* oldest = samples.empty() ? nullptr : &samples.front();

  std::vector<std::string> slices{"all"};
  for (const auto& s : cfg.slices) slices.push_back(s.name);

  // The chart's time axis: the end of each interval (a sample's successor, or now).
  json::array t;
  for (std::size_t i = 0; i < samples.size(); ++i)
    t.push_back(i + 1 < samples.size() ? samples[i + 1].unix_ms : now_unix_ms);

  json::array slis;
  for (const auto& m : cfg.models) {
    for (const auto& slice : slices) {
      json::object row{{"model", m.name}, {"slice", slice}};
      json::object chart{{"t", t}};
      for (std::string_view variant : {std::string_view("baseline"), std::string_view("canary")}) {
        if (variant == "canary" && !m.canary) continue;
        SeriesKey key{m.name, std::string(variant), slice};
        static const SeriesTotals zero{};
        const SeriesTotals* cur = find_totals(now, key);
        row[variant] = counts_json(sli_counts(cur ? *cur : zero, oldest ? find_totals(oldest->totals, key) : nullptr));
        json::array judged, failed;
        chart_points(history, now, key, judged, failed);
        chart[variant] = json::object{{"judged", std::move(judged)}, {"failed", std::move(failed)}};
      }
      row["chart"] = std::move(chart);
      slis.push_back(std::move(row));
    }
  }

  json::object doc;
  doc["generated_at_ms"] = now_unix_ms;
  doc["rollout_control"] = control != nullptr;
  doc["state"] = control ? control->state() : state_from_config(snapshot);
  doc["sample_interval_seconds"] = StatusHistory::kInterval.count();
  doc["window_start_ms"] = oldest ? json::value(oldest->unix_ms) : json::value(nullptr);
  doc["slis"] = std::move(slis);
  return doc;
}

namespace {

// The page. Everything it needs is here: no external stylesheet, script, font or image. Data goes into
// the DOM through textContent / createElementNS only (model names, reasons are never parsed as HTML).
constexpr std::string_view kPageHead = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slipway status</title>
<style>
  :root { --fg:#1d2330; --muted:#5d6675; --line:#dde1e8; --bg:#f6f7f9; --card:#fff; --base:#2f6fce; --canary:#e07b00;
          --bad:#c62828; --good:#2e7d32; --warn:#a86b00; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:12px 20px; background:#1d2330; color:#fff; }
  header h1 { margin:0; font-size:18px; }
  header #meta { color:#c5cbd6; font-size:13px; }
  header #stale { color:#ffb4a9; font-size:13px; }
  main { padding:16px 20px; display:flex; flex-direction:column; gap:16px; }
  section.model { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:14px 16px; }
  h2 { margin:0 0 8px; font-size:17px; display:flex; gap:10px; align-items:center; }
  h3 { margin:14px 0 6px; font-size:14px; color:var(--muted); font-weight:600; }
  .badge { font-size:12px; padding:2px 8px; border-radius:10px; color:#fff; }
  .badge.live { background:var(--good); } .badge.latched { background:var(--bad); } .badge.none { background:#8a93a3; }
  dl.weights { display:grid; grid-template-columns:repeat(6, auto); justify-content:start; gap:2px 14px; margin:0; }
  dl.weights dt { color:var(--muted); font-size:12px; } dl.weights dd { margin:0; font-size:20px; font-weight:600; }
  dl.weights > div { display:flex; flex-direction:column; }
  p.reason { margin:8px 0 0; padding:6px 10px; background:#fdecea; border-left:3px solid var(--bad); }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:3px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { font-size:12px; color:var(--muted); font-weight:600; }
  table.triggers td, table.triggers th { padding:3px 5px; font-size:13px; }
  th:first-child, td:first-child, td.text, th.text { text-align:left; }
  tr.canary td.variant { color:var(--canary); font-weight:600; } tr.baseline td.variant { color:var(--base); font-weight:600; }
  td.verdict-fired { color:var(--bad); font-weight:600; } td.verdict-within_tolerance, td.verdict-not_significant { color:var(--good); }
  td.verdict-min_sample { color:var(--warn); }
  p.reason.hold { background:#eef3fb; border-color:var(--base); }
  td.chart { text-align:left; padding:2px 8px; }
  td.worse { color:var(--bad); font-weight:600; }
  .legend { font-size:12px; color:var(--muted); } .legend b.b { color:var(--base); } .legend b.c { color:var(--canary); }
  .empty { color:var(--muted); font-style:italic; }
  footer { padding:4px 20px 16px; color:var(--muted); font-size:12px; }
</style>
</head>
<body>
<header><h1>slipway status</h1><span id="meta"></span><span id="stale"></span></header>
<main id="models"><p class="empty">Loading…</p></main>
<footer>This page reads <code>/status.json</code> of the admin listener every 5 s. SLIs count the requests of the
recent window (up to 5 minutes, sampled every 5 s); charts show the failure rate per 5 s interval,
<span class="legend"><b class="b">baseline</b> and <b class="c">canary</b></span>. Changing anything needs the
token-protected admin API (docs/admin-api.md).</footer>
<script id="status-data" type="application/json">)HTML";

constexpr std::string_view kPageTail = R"HTML(</script>
<script>
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}
function pct(x) { return x == null || !isFinite(x) ? "–" : (100 * x).toFixed(2) + "%"; }
function weight(x) { return x == null ? "–" : Number(x).toFixed(Number.isInteger(Number(x)) ? 0 : 2) + "%"; }
function num(x) {
  if (x == null) return "–";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
function time(ms) { return ms == null ? "–" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"); }

// Failure rate per interval, baseline vs canary: a small line chart with a dot per interval that had requests.
function chart(c) {
  const W = 260, H = 46, P = 3;
  const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", class: "sli-chart" });
  const n = (c && c.t) ? c.t.length : 0;
  s.append(svg("rect", { x: 0, y: 0, width: W, height: H, fill: "#fafbfc", stroke: "#dde1e8" }));
  const series = [["baseline", "#2f6fce"], ["canary", "#e07b00"]].filter(([v]) => c && c[v]);
  let max = 0;
  for (const [v] of series)
    c[v].judged.forEach((j, i) => { if (j > 0) max = Math.max(max, c[v].failed[i] / j); });
  const top = Math.max(max, 0.01) * 1.15;
  const x = (i) => n <= 1 ? W - P : P + (W - 2 * P) * i / (n - 1);
  const y = (r) => H - P - (H - 2 * P) * r / top;
  let title = `failure rate per ${n ? "interval" : "-"}; peak ${pct(max)}`;
  for (const [v, color] of series) {
    let d = "", pen = false;
    c[v].judged.forEach((j, i) => {
      if (j > 0) {
        const r = c[v].failed[i] / j;
        d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(r).toFixed(1)} `;
        pen = true;
        s.append(svg("circle", { cx: x(i).toFixed(1), cy: y(r).toFixed(1), r: 1.8, fill: color }));
      } else pen = false;
    });
    if (d) s.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 1.5 }));
    const last = c[v].judged.length - 1;
    title += `\n${v}: last interval ${c[v].failed[last] ?? 0}/${c[v].judged[last] ?? 0}`;
  }
  const label = svg("text", { x: 4, y: 11, "font-size": 9, fill: "#5d6675" });
  label.textContent = max > 0 ? `peak ${pct(max)}` : "no failures";
  s.append(label);
  const t = svg("title", {});
  t.textContent = title;
  s.append(t);
  return s;
}

// Rate triggers carry canary_rate / baseline_rate (fractions); distribution triggers (latency, output length,
// cost) carry canary_value / baseline_value instead.
function sideValue(t, side) {
  if (t[side + "_rate"] != null) return pct(t[side + "_rate"]);
  return num(t[side + "_value"]);
}
function triggersTable(triggers) {
  if (!triggers || !triggers.length) return el("p", { class: "empty" }, "No trigger evaluated yet.");
  const cols = [["trigger", "trigger"], ["slice", "slice"], ["sli", "sli"], ["verdict", "verdict"], ["canary", "canary"],
                ["baseline", "baseline"], ["canary_n", "canary n"], ["baseline_n", "baseline n"], ["min_samples", "min n"],
                ["statistic", "statistic"], ["p_value", "p-value"], ["threshold", "threshold"]];
  const head = el("tr", {}, ...cols.map(([, label], i) => el("th", { class: i < 4 ? "text" : "" }, label)));
  const rows = triggers.map((t) => el("tr", { class: "trigger-row", "data-trigger": t.trigger ?? "", "data-slice": t.slice ?? "" },
    ...cols.map(([c], i) => el("td", { class: (i < 4 ? "text " : "") + c.replace("_", "-") + (c === "verdict" ? " verdict-" + t[c] : "") },
      c === "canary" || c === "baseline" ? sideValue(t, c) : num(t[c])))));
  return el("table", { class: "triggers" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function slisTable(rows) {
  const cols = ["slice", "variant", "requests", "failure rate", "findings", "refusal rate", "truncation rate", "failure rate per interval"];
  const head = el("tr", {}, ...cols.map((c, i) => el("th", { class: i < 2 || i === 7 ? "text" : "" }, c)));
  const body = el("tbody");
  for (const r of rows) {
    const variants = ["baseline", "canary"].filter((v) => r[v]);
    variants.forEach((v, i) => {
      const c = r[v], other = r[v === "canary" ? "baseline" : "canary"];
      const worse = v === "canary" && other && c.failure_rate != null && other.failure_rate != null && c.failure_rate > other.failure_rate;
      const tr = el("tr", { class: "sli-row " + v, "data-slice": r.slice, "data-variant": v },
        el("td", { class: "text slice" }, i === 0 ? r.slice : ""),
        el("td", { class: "text variant" }, v),
        el("td", { class: "requests" }, num(c.requests)),
        el("td", { class: "failure-rate" + (worse ? " worse" : "") }, pct(c.failure_rate)),
        el("td", { class: "findings" }, num(c.findings)),
        el("td", { class: "refusal-rate" }, pct(c.refusal_rate)),
        el("td", { class: "truncation-rate" }, pct(c.truncation_rate)));
      if (i === 0) tr.append(el("td", { class: "chart", rowspan: variants.length }, chart(r.chart)));
      body.append(tr);
    });
  }
  return el("table", { class: "slis" }, el("thead", {}, head), body);
}

// The latch reason: the rollout service gives {trigger, slice, sli, message, numbers}; a plain string is shown as is.
function reasonText(r) {
  if (r == null) return "";
  if (typeof r !== "object") return String(r);
  const where = r.trigger && r.trigger !== "manual" ? `${r.trigger}${r.slice ? " on slice " + r.slice : ""}: ` : "";
  return where + (r.message ?? "");
}
function stepText(ro) {
  const steps = Array.isArray(ro.steps) ? ro.steps : [];
  if (!steps.length || ro.step == null) return "none";
  if (ro.step >= steps.length) return `done (${steps.length} steps)`;
  return `${ro.step + 1} / ${steps.length} (${weight(steps[ro.step].weight_percent)})`;
}
function modelSection(m, slis) {
  const ro = m.rollout;
  const badge = !ro ? el("span", { class: "badge none" }, "no rollout controller")
    : ro.latched ? el("span", { class: "badge latched" }, "ROLLED BACK (latched)") : el("span", { class: "badge live" }, "live");
  const field = (label, cls, value) => el("div", {}, el("dt", {}, label), el("dd", { class: cls }, value));
  const dl = el("dl", { class: "weights" },
    field("configured weight", "configured-weight", weight(m.configured_weight)),
    field("effective weight", "effective-weight", weight(m.effective_weight)));
  if (ro) {
    dl.append(field("weight override", "weight-override", ro.weight_override == null ? "none" : weight(ro.weight_override)));
    dl.append(field("step", "step", stepText(ro)));
    dl.append(field("revision", "revision", ro.revision == null || ro.revision === "" ? "–" : String(ro.revision)));
  }
  const sec = el("section", { class: "model", "data-model": m.model }, el("h2", {}, el("span", { class: "model-name" }, m.model), badge), dl);
  if (ro && ro.latched)
    sec.append(el("p", { class: "reason" }, `Rolled back at ${ro.latched_at ?? "?"}: ${reasonText(ro.reason) || "(no reason recorded)"}`));
  else if (ro && ro.hold_reason)
    sec.append(el("p", { class: "reason hold" }, `Holding: ${ro.hold_reason}`));
  if (ro) sec.append(el("h3", {}, "Triggers"), triggersTable(ro.triggers));
  sec.append(el("h3", {}, "SLIs by slice over the window, baseline vs canary"));
  sec.append(slis.length ? slisTable(slis) : el("p", { class: "empty" }, "No SLI data."));
  return sec;
}

function render(doc) {
  const st = doc.state || {};
  const win = doc.window_start_ms == null ? 0 : Math.round((doc.generated_at_ms - doc.window_start_ms) / 1000);
  document.getElementById("meta").textContent =
    `config generation ${num(st.config_generation)} · updated ${time(doc.generated_at_ms)} · window ${win} s` +
    (doc.rollout_control ? "" : " · rollout controller not running (weights as configured)");
  const main = document.getElementById("models");
  main.replaceChildren(...(st.models || []).map((m) => modelSection(m, (doc.slis || []).filter((r) => r.model === m.model))));
  if (!(st.models || []).length) main.replaceChildren(el("p", { class: "empty" }, "No models configured."));
}

async function poll() {
  try {
    const r = await fetch("status.json", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    document.getElementById("stale").textContent = "";
  } catch (e) {
    document.getElementById("stale").textContent = "could not refresh (" + e.message + "); showing older data";
  }
}

render(JSON.parse(document.getElementById("status-data").textContent));
setInterval(poll, 5000);
</script>
</body>
</html>
)HTML";

}  // namespace

std::string status_page_html(const json::object& document) {
  // Inside <script>, "</script>" or "<!--" would end or confuse the element; JSON allows \u003c for '<',
  // and '<' only ever appears inside JSON strings.
  std::string data = json::serialize(document);
  std::string escaped;
  escaped.reserve(data.size() + 16);
  for (char c : data) {
    if (c == '<') escaped += "\\u003c";
    else escaped += c;
  }
  std::string page;
  page.reserve(kPageHead.size() + escaped.size() + kPageTail.size());
  page += kPageHead;
  page += escaped;
  page += kPageTail;
  return page;
}

}  // namespace slipway
