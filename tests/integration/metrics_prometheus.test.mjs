// A real Prometheus scraping the gateway. Two simulators: the canary violates the requested JSON schema
// whenever it is nested 3 levels or more (profile: schema_violation, p 1.0, min_schema_depth 3); the
// baseline is clean. 200 deep-schema and 200 shallow-schema requests at a 50% canary weight, users varied.
// Prometheus (scrape and rule evaluation every 1s, our recording rules loaded) must then report the
// canary's schema violations on the deep slice exactly as the gateway counted them (its /metrics and its
// access log), 0 for the baseline and 0 on the shallow slice; the recording rule's ratio is > 0 for
// canary/deep and 0 for baseline/deep.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, pool, tmpDir, closedPort, waitFor, sleep,
  SOURCE_DIR,
} from '../lib/harness.mjs';

const prometheusBin = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
const N = 200;   // per kind (deep, shallow)

let baseline, canary, gw, adminPort, prom, promUrl;
const promLog = [];

function killProm() {
  if (prom && prom.exitCode === null) { try { prom.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killProm);

before(async () => {
  if (!prometheusBin) return;
  const dir = tmpDir();
  const profile = path.join(dir, 'canary-deep-slip.yaml');
  fs.writeFileSync(profile, 'slippage:\n  - kind: schema_violation\n    p: 1.0\n    when: {min_schema_depth: 3}\n');
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 8 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', profile, ...timing });
  gw = await startGateway(modelConfig({
    name: 'm', baseline, canary, weight: 50,
    extra: {
      admin: { address: '127.0.0.1', port: 0 },
      slices: [
        { name: 'deep_schema', schema_depth_at_least: 3 },
        { name: 'shallow', header: { name: 'x-shape', values: ['shallow'] } },
        { name: 'json_schema', response_format: 'json_schema' },
      ],
    },
  }));
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  adminPort = Number(ev.port);

  const promPort = await closedPort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const promDir = path.join(dir, 'prometheus');
  fs.mkdirSync(promDir, { recursive: true });
  const promCfg = path.join(promDir, 'prometheus.yml');
  fs.writeFileSync(promCfg, [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'rule_files:', `  - ${JSON.stringify(path.join(SOURCE_DIR, 'deploy/prometheus/recording_rules.yml'))}`,
    'scrape_configs:', '  - job_name: slipway', '    static_configs:', `      - targets: ["127.0.0.1:${adminPort}"]`, '',
  ].join('\n'));
  prom = spawn(prometheusBin, [
    `--config.file=${promCfg}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [prom.stdout, prom.stderr]) s.on('data', (d) => promLog.push(String(d)));
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`)).status === 200, { timeoutMs: 20_000, what: 'prometheus ready' });
});

after(async () => {
  killProm();
  await stopAll();
});

async function query(expr) {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = await r.json();
  assert.equal(j.status, 'success', JSON.stringify(j));
  return j.data.result;   // [{metric, value: [t, "v"]}]
}
const scalar = (result) => (result.length ? Number(result[0].value[1]) : undefined);

function metricValue(text, name, labels) {
  let sum;
  for (const line of text.split('\n')) {
    const m = /^([^{ ]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

const deepSchema = {
  type: 'object', required: ['order'], additionalProperties: false,
  properties: {
    order: {
      type: 'object', required: ['items'],
      properties: { items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } } } } },
    },
  },
};
const shallowSchema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
const rf = (schema) => ({ type: 'json_schema', json_schema: { name: 'out', schema } });

test('Prometheus sees the canary schema violations on the deep slice that the gateway counted', {
  skip: prometheusBin ? false : 'prometheus not installed (Debian package prometheus)', timeout: 200_000,
}, withLogs(async () => {
  // Warm up: the series exist (at 0) once a request is recorded; let Prometheus scrape them before the mix,
  // so rate() over the window sees the whole increase.
  await pool(8, 4, (i) => postJson(`${gw.base}/chat/completions`, chat('m', 'warm', { user: `warm-${i}`, max_tokens: 5 })));
  await waitFor(async () => scalar(await query('count(slipway_requests_total{slice="deep_schema"})')) > 0,
    { timeoutMs: 20_000, intervalMs: 250, what: 'first scrape with slipway series' });
  await sleep(1500);

  const mark = gw.proc.lines.length;
  const results = await pool(2 * N, 16, async (i) => {
    const deep = i % 2 === 0;
    const body = chat('m', `order ${i}`, { user: `user-${i}`, max_tokens: 64, response_format: rf(deep ? deepSchema : shallowSchema) });
    const r = await postJson(`${gw.base}/chat/completions`, body, { headers: deep ? {} : { 'x-shape': 'shallow' } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    return { deep, variant: r.headers.get('x-slipway-variant'), slipped: r.headers.get('x-sim-slip-applied') };
  });
  const canaryDeep = results.filter((r) => r.deep && r.variant === 'canary').length;
  const canaryShallow = results.filter((r) => !r.deep && r.variant === 'canary').length;
  assert.ok(canaryDeep > 50 && canaryDeep < 150, `canary got ${canaryDeep} of ${N} deep requests at weight 50`);
  assert.ok(canaryShallow > 50, `canary got ${canaryShallow} shallow requests`);

  // The gateway's own count, from /metrics and from the access log (record() runs just after the answer is
  // sent: wait until the last request is counted and logged).
  let text;
  await waitFor(async () => {
    text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return metricValue(text, 'slipway_requests_total', { model: 'm', slice: 'json_schema' }) === 2 * N;
  }, { timeoutMs: 5000, what: 'every request counted' });
  await waitFor(() => gw.proc.events(mark).filter((e) => e.event === 'request' && e.model === 'm').length === 2 * N,
    { timeoutMs: 5000, what: 'every request logged' });
  const sv = (variant, slice) => metricValue(text, 'slipway_validation_findings_total', { model: 'm', variant, slice, kind: 'schema_violation' });
  const gatewayCanaryDeep = sv('canary', 'deep_schema');
  const logs = gw.proc.events(mark).filter((e) => e.event === 'request' && e.model === 'm');
  const logCanaryDeep = logs.filter((e) => e.variant === 'canary' && (e.slices ?? []).includes('deep_schema')
    && (e.findings ?? []).includes('schema_violation')).length;
  assert.equal(logs.length, 2 * N);
  assert.equal(gatewayCanaryDeep, canaryDeep, 'every canary answer to a deep schema violates it (profile p=1.0)');
  assert.equal(logCanaryDeep, gatewayCanaryDeep, 'access log and /metrics disagree');
  assert.equal(sv('baseline', 'deep_schema'), 0);
  assert.equal(sv('canary', 'shallow'), 0);
  assert.equal(sv('baseline', 'shallow'), 0);

  // Prometheus: the raw counter once a scrape after the traffic has landed.
  const q = (variant, slice) => `slipway_validation_findings_total{model="m",variant="${variant}",slice="${slice}",kind="schema_violation"}`;
  await waitFor(async () => scalar(await query(q('canary', 'deep_schema'))) === gatewayCanaryDeep,
    { timeoutMs: 15_000, intervalMs: 250, what: 'Prometheus to scrape the final count' });
  assert.equal(scalar(await query(q('baseline', 'deep_schema'))), 0);
  assert.equal(scalar(await query(q('canary', 'shallow'))), 0);
  assert.equal(scalar(await query(q('baseline', 'shallow'))), 0);
  assert.equal(scalar(await query(`sum(increase(slipway_requests_total{model="m",slice="deep_schema",outcome="invalid"}[10m]))`)) > 0, true);

  // The recording rule (evaluated every 1s): > 0 for canary/deep, 0 for baseline/deep and for the shallow slice.
  const rule = (variant, slice) => `slipway:schema_violation_ratio:rate5m{model="m",variant="${variant}",slice="${slice}"}`;
  await waitFor(async () => scalar(await query(rule('canary', 'deep_schema'))) > 0,
    { timeoutMs: 15_000, intervalMs: 250, what: 'recording rule for canary/deep_schema' });
  await waitFor(async () => scalar(await query(rule('baseline', 'deep_schema'))) !== undefined,
    { timeoutMs: 15_000, intervalMs: 250, what: 'recording rule for baseline/deep_schema' });
  // rate() extrapolates each series from its own samples; while a series created mid-burst (the "invalid"
  // outcome, the findings) has fewer scrapes than the others, the ratio can pass 1 (2.9 seen on a busy
  // machine). Once every series has its samples after the traffic, it settles at the true ratio.
  let canaryRatio;
  await waitFor(async () => {
    canaryRatio = scalar(await query(rule('canary', 'deep_schema')));
    return canaryRatio > 0.5 && canaryRatio <= 1.0001;
  }, { timeoutMs: 20_000, intervalMs: 500, what: 'canary deep violation ratio in (0.5, 1]' }).catch(() => {});
  assert.ok(canaryRatio > 0.5 && canaryRatio <= 1.0001, `canary deep violation ratio ${canaryRatio}`);
  assert.equal(scalar(await query(rule('baseline', 'deep_schema'))), 0);
  assert.equal(scalar(await query(rule('canary', 'shallow'))), 0);
  // Failure ratio per variant and slice, from the same data.
  assert.ok(scalar(await query(`slipway:failure_ratio:rate5m{model="m",variant="canary",slice="deep_schema"}`)) > 0);
  assert.equal(scalar(await query(`slipway:failure_ratio:rate5m{model="m",variant="baseline",slice="deep_schema"}`)), 0);
}));
