#!/usr/bin/env node
// Generates slipway's Grafana dashboards (dashboards/*.json) from one description, so that the five files
// share their variables, colours and conventions and a query is written once.
//
//   node dashboards/generate.mjs            writes dashboards/*.json
//   node dashboards/generate.mjs --check    exits 1 if a committed JSON file differs from what it would write
//
// The JSON files are what users import (docs/dashboards.md); this script is how we edit them. Every panel
// query is evaluated against a real Prometheus that scraped a live gateway (tests/integration/dashboards.test.mjs).
//
// Conventions in every query: `model="$model"`, `slice="$slice"` (slice="all" counts every request; see
// docs/metrics.md: never sum over slice), windows `[$__rate_interval]`, and `sum by (...)` over instances so
// several gateway replicas show as one.

import fs from 'node:fs';
import path from 'node:path';

const DIR = path.dirname(new URL(import.meta.url).pathname);
const DS = { type: 'prometheus', uid: '${datasource}' };
const RI = '$__rate_interval';
const M = 'model="$model"';
const MS = 'model="$model",slice="$slice"';

// Outcomes the backend side is accountable for, and the failing ones (docs/metrics.md#outcomes; the same
// split as deploy/prometheus/recording_rules.yml).
const JUDGED = 'outcome!~"client_error|client_gone"';
const FAILED = 'outcome=~"invalid|upstream_error|timeout|fallback"';

// ---------------------------------------------------------------------------------------------------
// Building blocks

const COLORS = { baseline: 'blue', canary: 'orange' };
const variantOverrides = Object.entries(COLORS).map(([v, color]) => ({
  matcher: { id: 'byRegexp', options: `/.*${v}.*/` },
  properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }],
}));

function target(expr, legend, extra = {}) {
  return { datasource: DS, expr, legendFormat: legend ?? '__auto', range: true, instant: false, ...extra };
}

function timeseries(title, description, targets, { unit = 'short', w = 12, h = 8, min, max, log, stack, overrides = [], thresholds, decimals } = {}) {
  const custom = {
    drawStyle: 'line', lineWidth: 1, fillOpacity: stack ? 30 : 10, showPoints: 'never', spanNulls: false,
    axisPlacement: 'auto', stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
  };
  if (log) custom.scaleDistribution = { type: 'log', log: 10 };
  if (thresholds) custom.thresholdsStyle = { mode: 'line+area' };
  const defaults = { unit, custom, color: { mode: 'palette-classic' } };
  if (min !== undefined) defaults.min = min;
  if (max !== undefined) defaults.max = max;
  if (decimals !== undefined) defaults.decimals = decimals;
  if (thresholds) defaults.thresholds = { mode: 'absolute', steps: thresholds };
  return {
    type: 'timeseries', title, description, datasource: DS, w, h,
    fieldConfig: { defaults, overrides: [...variantOverrides, ...overrides] },
    options: {
      legend: { showLegend: true, displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
  };
}

function stat(title, description, targets, { unit = 'short', w = 6, h = 5, mappings = [], thresholds, decimals, textMode = 'auto' } = {}) {
  const defaults = { unit, mappings, color: { mode: 'thresholds' } };
  defaults.thresholds = { mode: 'absolute', steps: thresholds ?? [{ color: 'green', value: null }] };
  if (decimals !== undefined) defaults.decimals = decimals;
  return {
    type: 'stat', title, description, datasource: DS, w, h,
    fieldConfig: { defaults, overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background', graphMode: 'area', justifyMode: 'auto', orientation: 'auto', textMode,
    },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
  };
}

function stateTimeline(title, description, targets, { w = 12, h = 6, mappings = [], thresholds } = {}) {
  return {
    type: 'state-timeline', title, description, datasource: DS, w, h,
    fieldConfig: {
      defaults: {
        mappings, color: { mode: 'thresholds' },
        thresholds: { mode: 'absolute', steps: thresholds ?? [{ color: 'green', value: null }] },
        custom: { fillOpacity: 80, lineWidth: 0 },
      },
      overrides: [],
    },
    options: { showValue: 'auto', mergeValues: true, rowHeight: 0.9, legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'single' } },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
  };
}

function table(title, description, targets, { w = 24, h = 8 } = {}) {
  return {
    type: 'table', title, description, datasource: DS, w, h,
    fieldConfig: { defaults: { custom: { align: 'auto' } }, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm' },
    transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true } } }],
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), format: 'table', instant: true, range: false, ...t })),
  };
}

function heatmap(title, description, targets, { w = 12, h = 8, unit = 's' } = {}) {
  return {
    type: 'heatmap', title, description, datasource: DS, w, h,
    fieldConfig: { defaults: { custom: { scaleDistribution: { type: 'linear' } } }, overrides: [] },
    options: {
      calculate: false, cellGap: 1, color: { mode: 'scheme', scheme: 'Oranges', steps: 64 },
      yAxis: { unit, axisPlacement: 'left' }, rowsFrame: { layout: 'auto' }, legend: { show: true },
      tooltip: { show: true, yHistogram: false },
    },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), format: 'heatmap', ...t })),
  };
}

const row = (title) => ({ type: 'row', title, collapsed: false, panels: [] });

// Lays panels out left to right, wrapping at 24 columns; a row starts a new line.
function layout(items) {
  const out = [];
  let x = 0, y = 0, lineH = 0, id = 1;
  for (const it of items) {
    const p = { id: id++, ...it };
    if (p.type === 'row') {
      if (x > 0) { y += lineH; x = 0; lineH = 0; }
      p.gridPos = { h: 1, w: 24, x: 0, y };
      y += 1;
    } else {
      const { w, h } = p;
      if (x + w > 24) { y += lineH; x = 0; lineH = 0; }
      p.gridPos = { h, w, x, y };
      x += w; lineH = Math.max(lineH, h);
    }
    delete p.w; delete p.h;
    out.push(p);
  }
  return out;
}

function variable(name, label, query, { current, includeAll = false, hide = 0 } = {}) {
  return {
    name, label, type: 'query', datasource: DS, definition: query,
    query: { query, refId: `PrometheusVariableQueryEditor-${name}`, qryType: 1 },
    refresh: 2, sort: 1, regex: '', hide, includeAll, multi: false, skipUrlSync: false, options: [],
    current: current ? { selected: true, text: current, value: current } : {},
  };
}

const datasourceVar = {
  name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', refresh: 1, regex: '',
  hide: 0, includeAll: false, multi: false, skipUrlSync: false, options: [], current: {},
};
// Models: the configured ones (slipway_canary_weight_percent has one series per configured model, 0 without
// a canary; slipway_requests_total also has model="other" for unknown names).
const modelVar = variable('model', 'Model', 'label_values(slipway_canary_weight_percent, model)');
const sliceVar = variable('slice', 'Slice', 'label_values(slipway_requests_total{model="$model"}, slice)', { current: 'all' });

const LINKS = [{ title: 'slipway dashboards', type: 'dashboards', tags: ['slipway'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link' }];

function dashboard({ uid, title, description, panels, vars = [modelVar, sliceVar] }) {
  return {
    annotations: {
      list: [
        {
          builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true,
          iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard',
        },
        {
          // Marks every rollback and promotion on every panel's time axis.
          name: 'Rollbacks and promotions', datasource: DS, enable: true, hide: false, iconColor: 'red',
          expr: `changes(slipway_rollback_active{${M}}[1m]) > 0 or increase(slipway_rollout_promotions_total{${M}}[1m]) > 0`,
          step: '30s', titleFormat: 'rollout state changed', textFormat: '{{model}}',
        },
      ],
    },
    description, editable: true, fiscalYearStartMonth: 0, graphTooltip: 1, id: null, links: LINKS,
    panels: layout(panels), refresh: '30s', schemaVersion: 39, tags: ['slipway'],
    templating: { list: [datasourceVar, ...vars] },
    time: { from: 'now-3h', to: 'now' }, timepicker: {}, timezone: 'browser', title, uid, version: 1, weekStart: '',
  };
}

// PromQL helpers ------------------------------------------------------------------------------------

// Rate of `metric{sel}` per variant over the window.
const rateBy = (by, metric, sel) => `sum by (${by}) (rate(${metric}{${sel}}[${RI}]))`;
// Share of judged requests (per variant) with what `num` counts.
const perJudged = (num) => `${num}\n/ on (variant) group_left\n${rateBy('variant', 'slipway_requests_total', `${MS},variant!="none",${JUDGED}`)}`;
const quantile = (q, metric, sel, by = 'variant') =>
  `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${sel}}[${RI}])))`;

// ---------------------------------------------------------------------------------------------------
// Rollout

const latchMappings = [{ type: 'value', options: { 0: { text: 'serving', color: 'green', index: 0 }, 1: { text: 'ROLLED BACK', color: 'red', index: 1 } } }];
const latchThresholds = [{ color: 'green', value: null }, { color: 'red', value: 1 }];

const rollout = dashboard({
  uid: 'slipway-rollout',
  title: 'slipway / Rollout',
  description: 'The canary rollout of one model: weight, rollback latch, progressive steps, and the rollback triggers\' statistics against their thresholds.',
  vars: [modelVar],
  panels: [
    row('State'),
    stat('Rollback latch', 'slipway_rollback_active: 1 while a rollback is latched (canary weight forced to 0 until an SRE resumes: docs/runbook.md).',
      [target(`max(slipway_rollback_active{${M}})`, 'latch')], { mappings: latchMappings, thresholds: latchThresholds }),
    stat('Effective canary weight', 'The share of users the canary gets now (after a rollback, a progressive step or an admin override).',
      [target(`max(slipway_canary_weight_percent{${M}})`, 'effective')], { unit: 'percent', decimals: 2 }),
    stat('Configured canary weight', 'The weight in the YAML (models[].canary.weight).',
      [target(`max(slipway_canary_configured_weight_percent{${M}})`, 'configured')], { unit: 'percent', decimals: 2 }),
    stat('Rollout step', 'Index of the current progressive step (0 = first); -1 when no steps are configured.',
      [target(`max(slipway_rollout_step{${M}})`, 'step')], { mappings: [{ type: 'value', options: { '-1': { text: 'no steps', index: 0 } } }] }),
    timeseries('Canary weight over time', 'Effective weight (what the split uses) against the configured weight. They differ during progressive steps, after a rollback, or with an admin override.',
      [target(`max(slipway_canary_weight_percent{${M}})`, 'effective'), target(`max(slipway_canary_configured_weight_percent{${M}})`, 'configured')],
      { unit: 'percent', min: 0, max: 100, w: 16 }),
    stateTimeline('Rollback latch over time', '1 = rolled back.', [target(`max(slipway_rollback_active{${M}})`, 'latch')], { w: 8, h: 8, mappings: latchMappings, thresholds: latchThresholds }),
    row('Triggers'),
    timeseries('Trigger p-value vs threshold', 'Always-valid p-value of each trigger\'s sequential test (docs/judgement.md), per slice, on a log scale; the trigger fires when its p-value drops below its threshold (the alpha it is held to).',
      [target(`min by (trigger, slice) (slipway_trigger_p_value{${M}})`, 'p {{trigger}} / {{slice}}'),
        target(`min by (trigger, slice) (slipway_trigger_threshold{${M}})`, 'threshold {{trigger}} / {{slice}}')],
      { log: true, w: 24, h: 9, overrides: [{ matcher: { id: 'byRegexp', options: '/^threshold.*/' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] }),
    timeseries('Trigger SLI: canary vs baseline', 'The value each trigger compares: a rate (share of answers) or a quantile in seconds, for the canary and for the baseline, over the trigger\'s window.',
      [target(`max by (trigger, slice) (slipway_trigger_canary_value{${M}})`, 'canary {{trigger}} / {{slice}}'),
        target(`max by (trigger, slice) (slipway_trigger_baseline_value{${M}})`, 'baseline {{trigger}} / {{slice}}')], { w: 12, h: 9 }),
    timeseries('Trigger samples in window', 'Samples per variant in each trigger\'s window; no verdict before both reach the trigger\'s min_samples.',
      [target(`max by (trigger, slice, variant) (slipway_trigger_samples{${M}})`, '{{variant}} {{trigger}} / {{slice}}')], { w: 12, h: 9 }),
    timeseries('Trigger evaluations per second', 'How often the controller judged the windows (rollout_evaluate_every). Flat at 0 means the controller is not running for this model.',
      [target(`sum(rate(slipway_trigger_evaluations_total{${M}}[${RI}]))`, 'evaluations/s')], { unit: 'ops', w: 12, h: 7 }),
    table('Triggers now', 'Each trigger\'s latest numbers.',
      [target(`min by (trigger, slice) (slipway_trigger_p_value{${M}})`, 'p-value'),
        target(`min by (trigger, slice) (slipway_trigger_threshold{${M}})`, 'threshold'),
        target(`max by (trigger, slice) (slipway_trigger_canary_value{${M}})`, 'canary'),
        target(`max by (trigger, slice) (slipway_trigger_baseline_value{${M}})`, 'baseline')], { w: 12, h: 7 }),
    row('Rollbacks and promotions'),
    timeseries('Rollbacks', 'Rollbacks latched in the window, by trigger and slice (trigger="manual": an admin rollback).',
      [target(`sum by (trigger, slice) (increase(slipway_rollbacks_total{${M}}[${RI}]))`, '{{trigger}} / {{slice}}')], { w: 8, stack: true, decimals: 0 }),
    timeseries('Promotions', 'Progressive steps promoted in the window.',
      [target(`sum(increase(slipway_rollout_promotions_total{${M}}[${RI}]))`, 'promotions')], { w: 8, decimals: 0 }),
    timeseries('Rollback alert deliveries', 'Attempts to deliver rollback alerts, by receiver (alertmanager, webhook) and result. Failures are retried with backoff.',
      [target(`sum by (receiver, result) (rate(slipway_alert_notifications_total[${RI}]))`, '{{receiver}} {{result}}')], { w: 8, unit: 'ops',
        overrides: [{ matcher: { id: 'byRegexp', options: '/.*failed.*/' }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] }),
  ],
});

// ---------------------------------------------------------------------------------------------------
// Quality SLIs

const quality = dashboard({
  uid: 'slipway-quality',
  title: 'slipway / Quality SLIs',
  description: 'Baseline vs canary on the selected slice: validation failures by kind, tool-call success, refusals, truncation, output length. slice="all" is every request.',
  panels: [
    row('Failures on slice $slice'),
    timeseries('Failure rate by variant', 'Share of judged requests (not client errors, not clients that left) that failed: invalid answer, upstream error, timeout, or saved by a fallback.',
      [target(`${rateBy('variant', 'slipway_requests_total', `${MS},variant!="none",${FAILED}`)}\n/\n${rateBy('variant', 'slipway_requests_total', `${MS},variant!="none",${JUDGED}`)}`, '{{variant}}')],
      { unit: 'percentunit', min: 0 }),
    timeseries('Requests by variant and outcome', 'Requests per second on this slice.',
      [target(rateBy('variant, outcome', 'slipway_requests_total', `${MS},variant!="none"`), '{{variant}} {{outcome}}')], { unit: 'reqps', stack: true }),
    timeseries('Validation findings by kind: baseline', 'Share of the baseline\'s judged answers with a finding of each kind.',
      [target(perJudged(rateBy('variant, kind', 'slipway_validation_findings_total', `${MS},variant="baseline"`)), '{{kind}}')], { unit: 'percentunit', min: 0 }),
    timeseries('Validation findings by kind: canary', 'Share of the canary\'s judged answers with a finding of each kind (after a fallback, the replaced canary answer\'s findings).',
      [target(perJudged(rateBy('variant, kind', 'slipway_validation_findings_total', `${MS},variant="canary"`)), '{{kind}}')], { unit: 'percentunit', min: 0 }),
    row('Tool calls, refusals, truncation on slice $slice'),
    timeseries('Tool-call success rate', 'Valid tool calls (a declared function, JSON arguments that satisfy its schema) / all tool calls.',
      [target(`${rateBy('variant', 'slipway_tool_calls_total', `${MS},result="valid"`)}\n/\n${rateBy('variant', 'slipway_tool_calls_total', MS)}`, '{{variant}}')],
      { unit: 'percentunit', max: 1 }),
    timeseries('Refusal rate', 'Refusals / judged answers. Both directions matter: a canary that refuses more (unexpected refusals) or less (missed refusals) than the baseline.',
      [target(perJudged(rateBy('variant', 'slipway_refusals_total', MS)), '{{variant}}')], { unit: 'percentunit', min: 0 }),
    timeseries('Truncation rate', 'Answers cut by the token limit (finish_reason "length") / judged answers.',
      [target(perJudged(rateBy('variant', 'slipway_truncations_total', MS)), '{{variant}}')], { unit: 'percentunit', min: 0 }),
    timeseries('Empty answers', 'Answers with no content and no tool call, per second.',
      [target(rateBy('variant', 'slipway_empty_responses_total', MS), '{{variant}}')], { unit: 'ops', min: 0 }),
    row('Output length on slice $slice'),
    timeseries('Output length (completion tokens per answer)', 'Median and p95 of completion tokens per answer, by the variant that answered. Longer canary answers cost more and may truncate.',
      [target(quantile(0.5, 'slipway_output_tokens', MS), 'p50 {{variant}}'), target(quantile(0.95, 'slipway_output_tokens', MS), 'p95 {{variant}}')], { unit: 'short', min: 0 }),
    timeseries('Fallbacks by reason', 'Requests answered by the baseline after the canary failed (model-wide, not per slice).',
      [target(`sum by (reason) (rate(slipway_fallbacks_total{${M}}[${RI}]))`, '{{reason}}')], { unit: 'ops', stack: true }),
    row('Every slice'),
    table('Failure rate per slice', 'Failure rate of each variant on every slice, side by side (instant, over the dashboard\'s rate interval).',
      [target(`${rateBy('slice, variant', 'slipway_requests_total', `${M},variant!="none",${FAILED}`)}\n/\n${rateBy('slice, variant', 'slipway_requests_total', `${M},variant!="none",${JUDGED}`)}`, '{{slice}} {{variant}}')]),
  ],
});

// ---------------------------------------------------------------------------------------------------
// Latency

const latencyTriple = (metric, sel) => [0.5, 0.95, 0.99].map((q) => target(quantile(q, metric, sel), `p${Math.round(q * 100)} {{variant}}`));

const latency = dashboard({
  uid: 'slipway-latency',
  title: 'slipway / Latency',
  description: 'End-to-end latency, time to first token and the gateway\'s own overhead, baseline vs canary, on the selected slice.',
  panels: [
    row('End to end on slice $slice'),
    timeseries('End-to-end latency p50 / p95 / p99', 'Request read to last byte sent, by the variant the split chose.',
      latencyTriple('slipway_request_duration_seconds', `${MS},variant!="none"`), { unit: 's', w: 24 }),
    timeseries('Mean end-to-end latency', 'Sum / count of the histogram.',
      [target(`${rateBy('variant', 'slipway_request_duration_seconds_sum', `${MS},variant!="none"`)}\n/\n${rateBy('variant', 'slipway_request_duration_seconds_count', `${MS},variant!="none"`)}`, '{{variant}}')], { unit: 's' }),
    heatmap('End-to-end latency distribution (canary)', 'Requests per latency bucket, canary only.',
      [target(`sum by (le) (increase(slipway_request_duration_seconds_bucket{${MS},variant="canary"}[${RI}]))`, '{{le}}')]),
    row('Streams on slice $slice'),
    timeseries('Time to first token p50 / p95 / p99', 'Streams only: request read to the first SSE event sent to the client.',
      latencyTriple('slipway_time_to_first_token_seconds', `${MS},variant!="none"`), { unit: 's', w: 24 }),
    row('Gateway overhead'),
    timeseries('Gateway overhead p50 / p99', 'Time spent in slipway itself (duration minus the time waiting on backends), all variants, on the selected slice.',
      [target(quantile(0.5, 'slipway_gateway_overhead_seconds', MS, 'variant'), 'p50 {{variant}}'), target(quantile(0.99, 'slipway_gateway_overhead_seconds', MS, 'variant'), 'p99 {{variant}}')], { unit: 's' }),
    timeseries('Gateway overhead share of end to end', 'Mean overhead / mean end-to-end latency.',
      [target(`${rateBy('variant', 'slipway_gateway_overhead_seconds_sum', MS)}\n/\n${rateBy('variant', 'slipway_request_duration_seconds_sum', MS)}`, '{{variant}}')], { unit: 'percentunit', min: 0 }),
  ],
});

// ---------------------------------------------------------------------------------------------------
// Cost and tokens

const cost = dashboard({
  uid: 'slipway-cost',
  title: 'slipway / Cost and tokens',
  description: 'Tokens in and out and cost per successful request, by the variant that answered, on the selected slice. Cost needs models[].{baseline,canary}.price in the config.',
  panels: [
    row('Tokens on slice $slice'),
    timeseries('Tokens per second', 'Prompt (in) and completion (out) tokens from the backends\' usage, by the variant that answered.',
      [target(rateBy('variant, type', 'slipway_tokens_total', MS), '{{type}} {{variant}}')], { unit: 'short' }),
    timeseries('Completion tokens per successful request', 'Completion tokens / requests answered (ok or fallback).',
      [target(`${rateBy('variant', 'slipway_tokens_total', `${MS},type="completion"`)}\n/\n${rateBy('variant', 'slipway_requests_total', `${MS},outcome=~"ok|fallback"`)}`, '{{variant}}')], { unit: 'short', min: 0 }),
    row('Cost on slice $slice'),
    timeseries('Cost per successful request', 'Cost (price x tokens, of the variant that answered) / requests answered (ok or fallback), in the config\'s currency.',
      [target(`${rateBy('variant', 'slipway_cost_total', MS)}\n/\n${rateBy('variant', 'slipway_requests_total', `${MS},outcome=~"ok|fallback"`)}`, '{{variant}}')], { unit: 'currencyUSD', decimals: 6, min: 0 }),
    timeseries('Cost per hour', 'Spend rate by variant, extrapolated to an hour.',
      [target(`3600 * ${rateBy('variant', 'slipway_cost_total', MS)}`, '{{variant}}')], { unit: 'currencyUSD', min: 0 }),
    stat('Canary cost per success / baseline', 'Below 1: the canary answers for less.',
      [target(`(${rateBy('variant', 'slipway_cost_total', `${MS},variant="canary"`)} / ignoring(variant) ${rateBy('variant', 'slipway_requests_total', `${MS},variant="canary",outcome=~"ok|fallback"`)})\n/ ignoring(variant)\n(${rateBy('variant', 'slipway_cost_total', `${MS},variant="baseline"`)} / ignoring(variant) ${rateBy('variant', 'slipway_requests_total', `${MS},variant="baseline",outcome=~"ok|fallback"`)})`, 'ratio')],
      { unit: 'none', decimals: 2, w: 8, thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 1 }] }),
  ],
});

// ---------------------------------------------------------------------------------------------------
// Gateway health

const healthMappings = [{ type: 'value', options: { 0: { text: 'down', color: 'red', index: 0 }, 1: { text: 'up', color: 'green', index: 1 } } }];
const jobVar = variable('job', 'Job', 'label_values(slipway_build_info, job)', { includeAll: true });
jobVar.current = { selected: true, text: 'All', value: '$__all' };

const gateway = dashboard({
  uid: 'slipway-gateway',
  title: 'slipway / Gateway',
  description: 'The gateway itself: traffic, errors, concurrency, upstream endpoints, config reloads.',
  vars: [jobVar, modelVar],
  panels: [
    row('Traffic'),
    stat('Gateway instances up', 'Scrape targets of the slipway job(s) that answered the last scrape.',
      [target('sum(up{job=~"$job"})', 'up')], { thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }] }),
    stat('Config generation', 'The config generation each instance serves (1 at start, +1 per applied reload).',
      [target('count by (generation) (slipway_config_info{job=~"$job"})', 'generation {{generation}}')], { textMode: 'name' }),
    stat('Version', 'slipway_build_info.', [target('count by (version) (slipway_build_info{job=~"$job"})', '{{version}}')], { textMode: 'name' }),
    stat('Canary weight', 'Effective canary weight of the selected model.', [target(`max(slipway_canary_weight_percent{${M}})`, 'weight')], { unit: 'percent', decimals: 2 }),
    timeseries('Requests per second by outcome', 'All requests to the selected model (slice="all").',
      [target(rateBy('outcome', 'slipway_requests_total', `${M},slice="all",job=~"$job"`), '{{outcome}}')], { unit: 'reqps', stack: true }),
    timeseries('Error rate', 'Share of requests that did not end ok (slice="all"): upstream errors, timeouts, invalid answers, client errors.',
      [target(`${rateBy('variant', 'slipway_requests_total', `${M},slice="all",job=~"$job",outcome!="ok"`)}\n/\n${rateBy('variant', 'slipway_requests_total', `${M},slice="all",job=~"$job"`)}`, '{{variant}}')], { unit: 'percentunit', min: 0 }),
    row('Concurrency'),
    timeseries('In-flight requests', 'Requests being handled, per instance.', [target('sum by (instance) (slipway_in_flight_requests{job=~"$job"})', '{{instance}}')]),
    timeseries('Open streams', 'SSE streams being relayed, per instance.', [target('sum by (instance) (slipway_open_streams{job=~"$job"})', '{{instance}}')]),
    row('Upstream endpoints'),
    stateTimeline('Endpoint health', 'slipway_endpoint_healthy per endpoint: 0 = ejected by passive health or down by the active check.',
      [target(`min by (variant, endpoint) (slipway_endpoint_healthy{${M},job=~"$job"})`, '{{variant}} {{endpoint}}')], { mappings: healthMappings, thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }], h: 8 }),
    timeseries('Upstream errors by endpoint and kind', 'Failed upstream attempts per second (all models).',
      [target(`sum by (endpoint, kind) (rate(slipway_upstream_errors_total{job=~"$job"}[${RI}]))`, '{{endpoint}} {{kind}}')], { unit: 'ops', stack: true }),
    row('Config'),
    timeseries('Config reloads', 'Hot reloads (file change or SIGHUP) by result. A rejected reload leaves the old config serving: docs/runbook.md#slipwayconfigreloadfailing.',
      [target(`sum by (result) (increase(slipway_config_reloads_total{job=~"$job"}[${RI}]))`, '{{result}}')], { decimals: 0,
        overrides: [{ matcher: { id: 'byName', options: 'rejected' }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] }),
    timeseries('Rollback alert deliveries', 'Rollback alerts sent to Alertmanager / the webhook, by result.',
      [target(`sum by (receiver, result) (increase(slipway_alert_notifications_total{job=~"$job"}[${RI}]))`, '{{receiver}} {{result}}')], { decimals: 0 }),
  ],
});

// ---------------------------------------------------------------------------------------------------

export const DASHBOARDS = { 'rollout.json': rollout, 'quality.json': quality, 'latency.json': latency, 'cost.json': cost, 'gateway.json': gateway };

function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, d] of Object.entries(DASHBOARDS)) {
    const text = `${JSON.stringify(d, null, 2)}\n`;
    const where = path.join(DIR, file);
    if (check) {
      const have = fs.existsSync(where) ? fs.readFileSync(where, 'utf8') : '';
      if (have !== text) { stale++; process.stderr.write(`${file}: differs from dashboards/generate.mjs; run node dashboards/generate.mjs\n`); }
    } else {
      fs.writeFileSync(where, text);
      process.stdout.write(`wrote ${where}\n`);
    }
  }
  process.exit(stale ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
