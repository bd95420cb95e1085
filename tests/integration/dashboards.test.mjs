// Grafana dashboards (dashboards/*.json): structure, and every panel query evaluated against live data.
//
// 1. Structure (no processes): each file is the output of dashboards/generate.mjs; schemaVersion 39; uids
//    unique; panel ids unique; every panel has a gridPos inside the 24-column grid, no two panels overlap, the
//    ${datasource} variable as its datasource and at least one target with a non-empty expr; every $variable
//    used in a query, a title or a variable definition is defined (or is a Grafana built-in).
// 2. Live: two simulators (the canary with slippage of several kinds) behind the gateway with a canary at
//    50 %, slices, a fallback route, a rollout with progressive steps and fast triggers, and a webhook receiver
//    for rollback alerts. Phase 1: traffic of every kind (plain, JSON mode, json_schema shallow and deep, tools,
//    streams with and without tools, French, long prompts, pinned, refusal prompts, injected 503s), a hot
//    reload applied and one rejected; the triggers pass and a step is promoted. Phase 2: deep schemas break on
//    the canary and the schema trigger rolls it back. A real Prometheus scrapes the admin /metrics every second
//    with the recording and alert rules loaded (every rule must evaluate without error; the rollback alert
//    must fire). Then EVERY panel query of every dashboard (with $model, $slice, $job and $__rate_interval
//    substituted) is sent to /api/v1/query and must return at least one sample with a finite value: a panel
//    that would show "No data" (or only NaN) in Grafana fails here, one subtest per panel. Last, the runbook's
//    admin calls (rollback, resume with the bearer token) are made.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  startSim, startGateway, stopAll, withLogs, postJson, chat, pool, tmpDir, waitFor, sleep, toYaml, SOURCE_DIR, SLIPWAY_BIN,
} from '../lib/harness.mjs';
import { startPrometheus, PROMETHEUS_BIN } from '../lib/prometheus.mjs';

const DASH_DIR = path.join(SOURCE_DIR, 'dashboards');
const files = fs.readdirSync(DASH_DIR).filter((f) => f.endsWith('.json')).sort();
const dashboards = Object.fromEntries(files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(DASH_DIR, f), 'utf8'))]));

// Grafana's built-in variables a query may use without defining them.
const BUILTINS = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms', '__all', '__auto']);
const varsIn = (s) => [...String(s).matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)].map((m) => m[1] ?? m[2]);
const dataPanels = (d) => d.panels.flatMap((p) => (p.type === 'row' ? p.panels ?? [] : [p]));

// ---------------------------------------------------------------------------------------------------
// 1. Structure

test('the five dashboards exist and are what dashboards/generate.mjs writes', () => {
  assert.deepEqual(files, ['cost.json', 'gateway.json', 'latency.json', 'quality.json', 'rollout.json']);
  const r = spawnSync(process.execPath, [path.join(DASH_DIR, 'generate.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `dashboards/*.json are stale:\n${r.stderr}`);
});

test('dashboard uids and titles are unique; schemaVersion 39; tagged slipway', () => {
  const uids = files.map((f) => dashboards[f].uid);
  const titles = files.map((f) => dashboards[f].title);
  assert.equal(new Set(uids).size, uids.length, `uids: ${uids}`);
  assert.equal(new Set(titles).size, titles.length, `titles: ${titles}`);
  for (const f of files) {
    const d = dashboards[f];
    assert.equal(d.schemaVersion, 39, f);
    assert.equal(d.id, null, `${f}: id must be null so that an import creates the dashboard`);
    assert.match(d.uid, /^[a-z0-9-]{1,40}$/, f);
    assert.ok(d.tags.includes('slipway'), f);
  }
});

for (const f of files) {
  test(`${f}: variables: a prometheus datasource variable, model (and slice) from label_values`, () => {
    const vars = Object.fromEntries(dashboards[f].templating.list.map((v) => [v.name, v]));
    assert.equal(vars.datasource?.type, 'datasource');
    assert.equal(vars.datasource.query, 'prometheus');
    assert.equal(vars.model?.type, 'query');
    assert.match(vars.model.definition, /^label_values\(slipway_\w+(\{[^}]*\})?, model\)$/);
    if (vars.slice) assert.match(vars.slice.definition, /^label_values\(slipway_requests_total\{model="\$model"\}, slice\)$/);
    if (['quality.json', 'latency.json', 'cost.json'].includes(f)) assert.ok(vars.slice, `${f} needs a slice variable`);
    for (const v of Object.values(vars)) {
      if (v.type === 'query') {
        assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' }, `${f}: variable ${v.name}`);
        assert.equal(v.query.query, v.definition);
      }
    }
  });

  test(`${f}: panels: unique ids, gridPos on the grid without overlap, datasource and a query each`, () => {
    const d = dashboards[f];
    const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const ids = all.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${f}: duplicate panel ids ${ids}`);
    const cells = new Map();
    for (const p of all) {
      const g = p.gridPos;
      assert.ok(g && [g.h, g.w, g.x, g.y].every(Number.isInteger), `${f} panel ${p.id} "${p.title}": gridPos ${JSON.stringify(g)}`);
      assert.ok(g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24, `${f} panel ${p.id}: gridPos outside the grid`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const k = `${x},${y}`;
          assert.ok(!cells.has(k), `${f}: panels ${cells.get(k)} and ${p.id} overlap at ${k}`);
          cells.set(k, p.id);
        }
      }
    }
    const panels = dataPanels(d);
    assert.ok(panels.length >= 5, `${f}: ${panels.length} panels`);
    for (const p of panels) {
      const where = `${f} panel ${p.id} "${p.title}"`;
      assert.ok(p.title && p.description, `${where}: title and description`);
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${where}: datasource`);
      assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${where}: no targets`);
      const refIds = p.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${where}: duplicate refIds`);
      for (const t of p.targets) {
        assert.equal(typeof t.expr, 'string', where);
        assert.ok(t.expr.trim().length > 0, `${where}: empty expr`);
        assert.deepEqual(t.datasource, p.datasource, `${where}: target datasource`);
      }
    }
  });

  test(`${f}: every $variable used is defined`, () => {
    const d = dashboards[f];
    const defined = new Set(d.templating.list.map((v) => v.name));
    const used = [];
    for (const p of d.panels.flatMap((x) => [x, ...(x.panels ?? [])])) {
      for (const s of [p.title, p.description, JSON.stringify(p.datasource ?? ''), ...(p.targets ?? []).flatMap((t) => [t.expr, t.legendFormat])]) {
        for (const v of varsIn(s)) used.push([v, `panel ${p.id} "${p.title}"`]);
      }
    }
    for (const v of d.templating.list) for (const u of varsIn(JSON.stringify(v.query ?? ''))) used.push([u, `variable ${v.name}`]);
    for (const a of d.annotations.list) for (const u of varsIn(`${a.expr ?? ''} ${JSON.stringify(a.datasource)}`)) used.push([u, `annotation ${a.name}`]);
    assert.ok(used.length > 0);
    for (const [v, where] of used) assert.ok(defined.has(v) || BUILTINS.has(v), `${f}: ${where} uses $${v}, which is not defined`);
  });
}

// ---------------------------------------------------------------------------------------------------
// 2. Live

const SUBST = { model: 'demo', slice: 'all', job: 'slipway', __rate_interval: '1m' };
const ADMIN_TOKEN = 'dashboards-test-token';
let gw, adminPort, prom, hook, hookHits = 0;

function substitute(expr) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a, b) => {
    const v = SUBST[a ?? b];
    if (v === undefined) throw new Error(`no value for ${m} in ${expr}`);
    return v;
  });
}

// The canary slips on every kind of request the dashboards look at; the baseline is clean. Deep schemas break
// only in the second phase of the traffic (header x-phase: bad), so that the rollout first promotes a step
// (its triggers pass), then the schema trigger rolls the canary back.
const CANARY_PROFILE = `
timing: {ttft_ms: 3, token_ms: 1, output_tokens: 12}
refuse_when_prompt_contains: ["[harmful]"]
slippage:
  - {kind: schema_violation, p: 0.7, when: {min_schema_depth: 3, header: {name: x-phase, value: bad}}}
  - {kind: tool_wrong_type, p: 0.3, when: {tools: true, stream: false}}
  - {kind: tool_empty_args, p: 0.3, when: {tools: true, stream: true}}
  - {kind: refusal, p: 0.5, when: {header: {name: x-lang, value: fr}}}
  - {kind: truncation, p: 0.3, when: {min_prompt_tokens: 8000}}
  - {kind: truncation, p: 0.2, when: {stream: true}}
  - {kind: longer_output, p: 0.3}
  - {kind: empty, p: 0.05}
`;
const BASELINE_PROFILE = 'timing: {ttft_ms: 4, token_ms: 1, output_tokens: 12}\nrefuse_when_prompt_contains: ["[harmful]"]\n';

// The rollout keys (state_dir, rollout, alerting, ...). Should a gateway binary not accept them, the live
// test runs without them (the rollout panels then fail, each in its own subtest) and the last test below
// fails with the parser's errors, rather than every panel failing because the gateway did not start.
const ROLLOUT_KEYS = ['state_dir', 'rollout_evaluate_every', 'alerting'];
let rolloutUnsupported = '';

function gatewayConfig({ baseline, canary, stateDir, hookUrl, logLevel = 'info', weight = 50, withRollout = !rolloutUnsupported }) {
  const cfg = {
    listen: { address: '127.0.0.1', port: 0 },
    threads: 2,
    log_level: logLevel,
    health: { check_interval: '200ms' },
    admin: { address: '127.0.0.1', port: 0, token_env: 'SLIPWAY_ADMIN_TOKEN' },
    state_dir: stateDir,
    rollout_evaluate_every: '250ms',
    alerting: { webhook: { url: hookUrl }, resend_every: '1s', timeout: '2s' },
    models: [{
      name: 'demo',
      baseline: { served_model: 'demo-fp16', endpoints: [baseline.endpoint], price: { prompt_per_1k: 0.0005, completion_per_1k: 0.0015 } },
      canary: { served_model: 'demo-int4', endpoints: [canary.endpoint], weight, price: { prompt_per_1k: 0.0002, completion_per_1k: 0.0006 } },
      rollout: {
        revision: 'r1',
        bucket: '1s',
        steps: [{ weight: 25, hold: '1s' }, { weight: 50, hold: '1s' }],
        triggers: [
          { name: 'schema', sli: 'validation_failure_rate', slice: 'deep_schema', window: '60s', min_samples: 15, tolerance: { absolute: 0.02 }, confidence: 0.99 },
          { name: 'refusals', sli: 'refusal_rate', slice: 'all', direction: 'either', window: '60s', min_samples: 30, tolerance: { absolute: 0.3 } },
        ],
      },
    }],
    routes: [
      { name: 'high-stakes', match: { header: { name: 'x-slipway-tier', values: ['high-stakes'] } }, pin: 'baseline' },
      { name: 'strict', match: { header: { name: 'x-client', values: ['strict'] } }, on_invalid: 'fallback' },
    ],
    slices: [
      { name: 'long_context', prompt_tokens_over: 8000 },
      { name: 'tools', tools_at_least: 1 },
      { name: 'json_schema', response_format: 'json_schema' },
      { name: 'deep_schema', schema_depth_at_least: 3 },
      { name: 'streaming', stream: true },
      { name: 'lang_fr', header: { name: 'x-lang', values: ['fr'] } },
    ],
  };
  if (!withRollout) {
    for (const k of ROLLOUT_KEYS) delete cfg[k];
    delete cfg.models[0].rollout;
  }
  return cfg;
}

function checkConfig(cfg) {
  const file = path.join(tmpDir(), `check-${Date.now()}.yaml`);
  fs.writeFileSync(file, `${toYaml(cfg)}\n`);
  return spawnSync(SLIPWAY_BIN, ['--check-config', file], { encoding: 'utf8', env: { ...process.env, SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN } });
}

before(async () => {
  if (!PROMETHEUS_BIN) return;
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'canary.yaml'), CANARY_PROFILE);
  fs.writeFileSync(path.join(dir, 'baseline.yaml'), BASELINE_PROFILE);
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true });
  hook = http.createServer((req, res) => { hookHits++; req.resume(); req.on('end', () => { res.writeHead(200); res.end('ok'); }); });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${hook.address().port}/hook`;

  const baseline = await startSim({ model: 'demo-fp16', name: 'baseline', profile: path.join(dir, 'baseline.yaml') });
  const canary = await startSim({ model: 'demo-int4', name: 'canary', profile: path.join(dir, 'canary.yaml') });
  const full = checkConfig(gatewayConfig({ baseline, canary, stateDir, hookUrl, withRollout: true }));
  if (full.status !== 0) rolloutUnsupported = full.stderr.trim();
  gw = await startGateway(gatewayConfig({ baseline, canary, stateDir, hookUrl }), { env: { SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN } });
  gw.cfg = { baseline, canary, stateDir, hookUrl };
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  adminPort = Number(ev.port);
  prom = await startPrometheus({
    targets: [`127.0.0.1:${adminPort}`],
    ruleFiles: ['recording_rules.yml', 'alert_rules.yml'].map((f) => path.join(SOURCE_DIR, 'deploy/prometheus', f)),
  });
});

after(async () => {
  if (prom) await prom.stop();
  if (hook) hook.close();
  await stopAll();
});

// ---- traffic ----------------------------------------------------------------------------------------

const deepSchema = {
  type: 'object', required: ['order'],
  properties: { order: { type: 'object', required: ['items'], properties: { items: { type: 'array', minItems: 1, items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } } } } } } },
};
const shallowSchema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
const tool = (name) => ({ type: 'function', function: { name, parameters: { type: 'object', required: ['city', 'n'], properties: { city: { type: 'string' }, n: { type: 'integer' } } } } });
const TOOLS = [tool('get_weather'), tool('book_table'), tool('open_ticket')];
const LONG = 'lorem ipsum dolor sit amet '.repeat(1400);   // ~37,800 characters: ~9,450 estimated tokens

// One request of kind `i % KINDS.length`: [body, headers].
const KINDS = [
  (i) => [chat('demo', `plain ${i}`), {}],
  (i) => [chat('demo', `json ${i}`, { response_format: { type: 'json_object' } }), {}],
  (i) => [chat('demo', `shallow ${i}`, { response_format: { type: 'json_schema', json_schema: { name: 'o', schema: shallowSchema } } }), {}],
  (i) => [chat('demo', `deep ${i}`, { response_format: { type: 'json_schema', json_schema: { name: 'o', schema: deepSchema } } }), {}],
  (i) => [chat('demo', `deep strict ${i}`, { response_format: { type: 'json_schema', json_schema: { name: 'o', schema: deepSchema } } }), { 'x-client': 'strict' }],
  (i) => [chat('demo', `tools ${i}`, { tools: TOOLS, tool_choice: 'required' }), {}],
  (i) => [chat('demo', `stream ${i}`, { stream: true }), {}],
  (i) => [chat('demo', `stream tools ${i}`, { stream: true, tools: TOOLS, tool_choice: 'required' }), {}],
  (i) => [chat('demo', `bonjour ${i}`), { 'x-lang': 'fr' }],
  (i) => [chat('demo', `[harmful] ${i}`), {}],
  (i) => [chat('demo', `short ${i}`, { max_tokens: 3 }), {}],
  (i) => [chat('demo', `pinned ${i}`), { 'x-slipway-tier': 'high-stakes' }],
];

async function send(i, extraHeaders = {}) {
  const [body, kindHeaders] = i % 53 === 0
    ? [chat('demo', `long ${i}`), {}]
    : KINDS[i % KINDS.length](i);
  const headers = { ...kindHeaders, ...extraHeaders };
  if (i % 53 === 0) body.messages[0].content = LONG;
  if (i % 97 === 1) headers['x-sim-fault'] = 'http_503';
  body.user = `user-${i % 400}`;
  if (body.stream) {
    const r = await fetch(`${gw.base}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000),
    });
    await r.text();
    return r.status;
  }
  return (await postJson(`${gw.base}/chat/completions`, body, { headers })).status;
}

async function promQuery(expr) {
  return prom.query(expr);
}

test('live: every panel query returns data from a Prometheus that scraped the gateway', {
  skip: PROMETHEUS_BIN ? false : 'prometheus not installed (Debian package prometheus)', timeout: 120_000,
}, withLogs(async (t) => {
  const started = Date.now();
  // Let Prometheus see the series at 0 before the traffic, so that rate() over the window sees the increase.
  await send(0);
  await prom.waitForScrape();

  // A reload that applies (log level) and one that is rejected (weight 150): both counted.
  let mark = gw.writeConfig(gatewayConfig({ ...gw.cfg, logLevel: 'warn' }));
  await gw.waitForReload({ from: mark });
  mark = gw.writeConfig(gatewayConfig({ ...gw.cfg, logLevel: 'warn', weight: 150 }));
  await gw.waitForReject({ from: mark });

  // Phase 1: every kind of request, deep schemas clean on the canary: the triggers pass, a step is promoted.
  const metricsText = async () => (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const statuses = await pool(600, 24, (i) => send(i + 1));
  const promoted = await waitFor(async () => /^slipway_rollout_promotions_total\{[^}]*model="demo"[^}]*\} [1-9]/m.test(await metricsText()),
    { timeoutMs: 8000, intervalMs: 250, what: 'a promotion' }).then(() => true, (e) => e.message);
  t.diagnostic(`phase 1 promotion: ${promoted}`);
  // Phase 2: deep schemas break on the canary (x-phase: bad): the schema trigger rolls the canary back.
  statuses.push(...await pool(300, 24, (i) => send(i * KINDS.length + 3, { 'x-phase': 'bad' })));
  const byStatus = statuses.reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});
  assert.ok((byStatus[200] ?? 0) > 850, `statuses: ${JSON.stringify(byStatus)}`);
  const rolledBack = await waitFor(async () => /^slipway_rollback_active\{[^}]*model="demo"[^}]*\} 1/m.test(await metricsText()),
    { timeoutMs: 8000, intervalMs: 250, what: 'an automatic rollback' }).then(() => true, (e) => e.message);
  t.diagnostic(`phase 2 automatic rollback: ${rolledBack}`);
  const rollbackLine = gw.proc.events().find((e) => e.event === 'rollback');
  t.diagnostic(`rollback log line: ${JSON.stringify(rollbackLine)}`);

  // An operator's rollback through the admin API (after the automatic one: "already rolled back"; without
  // it, this one is counted as trigger="manual"). Alerts go to the webhook either way.
  const rb = await fetch(`http://127.0.0.1:${adminPort}/admin/v1/models/demo/rollback`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'dashboards test' }),
  }).catch((e) => ({ status: `error ${e.message}` }));
  t.diagnostic(`admin rollback: HTTP ${rb.status}; webhook hits so far ${hookHits}`);
  await sleep(1500);
  await prom.waitForScrape();
  // Recording rules are evaluated every second: wait for one round after the last scrape.
  await waitFor(async () => (await promQuery('slipway:requests:rate5m')).length > 0, { timeoutMs: 10_000, intervalMs: 250, what: 'recording rules' });
  t.diagnostic(`traffic and scrapes took ${Date.now() - started} ms; statuses ${JSON.stringify(byStatus)}`);

  // The variables' label_values queries, through the label values API as Grafana does.
  const labelValues = async (name, match) => {
    const r = await fetch(`${prom.url}/api/v1/label/${name}/values?match[]=${encodeURIComponent(match)}`);
    return (await r.json()).data;
  };
  assert.deepEqual(await labelValues('model', 'slipway_canary_weight_percent'), ['demo']);
  const slices = await labelValues('slice', 'slipway_requests_total{model="demo"}');
  for (const s of ['all', 'long_context', 'tools', 'json_schema', 'deep_schema', 'streaming', 'lang_fr']) assert.ok(slices.includes(s), `slice ${s} in ${slices}`);
  assert.deepEqual(await labelValues('job', 'slipway_build_info'), ['slipway']);

  const failures = [];
  for (const f of files) {
    const d = dashboards[f];
    for (const p of dataPanels(d)) {
      for (const tg of p.targets) {
        const expr = substitute(tg.expr);
        const name = `${f} #${p.id} "${p.title}" ${tg.refId}`;
        // eslint-disable-next-line no-await-in-loop
        await t.test(name, async () => {
          const result = await promQuery(expr);
          const finite = result.filter((r) => Number.isFinite(Number(r.value[1])));
          if (finite.length === 0) failures.push(name);
          assert.ok(result.length > 0, `no sample for\n${expr}`);
          assert.ok(finite.length > 0, `only NaN/Inf samples for\n${expr}\n${JSON.stringify(result).slice(0, 400)}`);
        });
      }
    }
    for (const a of d.annotations.list.filter((x) => x.expr)) {
      const expr = substitute(a.expr);
      // eslint-disable-next-line no-await-in-loop
      await t.test(`${f} annotation "${a.name}"`, async () => {
        // Annotations look back over the dashboard's whole range: query the last 5 minutes.
        const result = await promQuery(`max_over_time((${expr})[5m:1s])`);
        if (result.length === 0) failures.push(`${f} annotation`);
        assert.ok(result.length > 0, `no sample for\n${expr}`);
      });
    }
  }
  // The alert rules were evaluated against the same live data without an error, and the admin rollback
  // made SlipwayCanaryRolledBack fire (no `for`).
  await t.test('alert and recording rules evaluate without error on live data', async () => {
    const rules = (await prom.rules()).flatMap((g) => g.rules);
    assert.equal(rules.filter((r) => r.type === 'alerting').length, 5);
    for (const r of rules) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  });
  await t.test('the rollout promoted a step, then the schema trigger rolled the canary back', async () => {
    const text = await metricsText();
    assert.match(text, /^slipway_rollout_promotions_total\{[^}]*model="demo"[^}]*\} [1-9]/m, 'a promotion in phase 1');
    assert.match(text, /^slipway_rollbacks_total\{(?=[^}]*trigger="schema")(?=[^}]*slice="deep_schema")[^}]*\} 1/m, 'an automatic rollback by the schema trigger');
    assert.ok(hookHits > 0, 'the webhook received the rollback alert');
  });
  await t.test('SlipwayCanaryRolledBack fires after the rollback', async () => {
    await waitFor(async () => (await prom.alerts()).some((a) => a.labels.alertname === 'SlipwayCanaryRolledBack' && a.labels.model === 'demo' && a.state === 'firing'),
      { timeoutMs: 5000, intervalMs: 250, what: 'SlipwayCanaryRolledBack firing for model demo' });
  });
  // The runbook's way back: resume through the admin API with the bearer token.
  await t.test('the runbook\'s admin calls work: rollback (already latched) and resume', async () => {
    assert.equal(rb.status, 200, 'POST /admin/v1/models/demo/rollback');
    const hitsBefore = hookHits;
    const r = await fetch(`http://127.0.0.1:${adminPort}/admin/v1/models/demo/resume`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'dashboards test: resume' }),
    });
    assert.equal(r.status, 200, await r.text());
    assert.match(await metricsText(), /^slipway_rollback_active\{[^}]*model="demo"[^}]*\} 0/m);
    await waitFor(() => hookHits > hitsBefore, { timeoutMs: 5000, what: 'the resolved alert at the webhook' });
  });
  t.diagnostic(`panel queries without data: ${failures.length}${failures.length ? `\n  ${failures.join('\n  ')}` : ''}`);
  t.diagnostic(`whole live check: ${Date.now() - started} ms`);
}));

test('slipway --check-config accepts the live test config with its rollout, state_dir and alerting', { skip: PROMETHEUS_BIN ? false : 'prometheus not installed' }, () => {
  const full = checkConfig(gatewayConfig({ ...gw.cfg, withRollout: true }));
  assert.equal(full.status, 0, `the live test ran WITHOUT its rollout section, because:\n${full.stderr}`);
  assert.equal(checkConfig(gatewayConfig({ ...gw.cfg, withRollout: true, weight: 150 })).status, 1, 'weight 150 is rejected');
});
