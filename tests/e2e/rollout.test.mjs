// The rollout controller end to end (issue [4/7], "Proof"). Two simulators: the canary breaks the requested
// JSON schema on 60 % of deeply nested schemas (depth >= 3) and nowhere else; the baseline is clean. A quarter
// of the traffic asks for a deep schema, so the canary's aggregate failure rate (~15 %) stays under the
// aggregate trigger's tolerance (20 points) while the per-slice trigger must fire on `deep_schema`.
// Checked: the slice trigger fires and the aggregate one does not; the canary gets no request from the moment
// the rollback is logged; a real Alertmanager (started here on loopback) shows the alert with the numbers; the
// gateway killed with SIGKILL comes back still rolled back; the admin API refuses calls without the token;
// resume through the admin API clears the latch, starts the progressive steps and resolves the alert.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, tmpDir, closedPort, waitFor, sleep,
} from '../lib/harness.mjs';

const alertmanagerBin = spawnSync('sh', ['-c', 'command -v prometheus-alertmanager || command -v alertmanager'],
  { encoding: 'utf8' }).stdout.trim();
const TOKEN = 'e2e-admin-token-0123456789';
const MAX_REQUESTS = 12_000;   // bound on the traffic phase

let baseline, canary, dir, stateDir, amUrl, am, config;
const amLog = [];

function killAlertmanager() {
  if (am && am.exitCode === null) { try { am.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killAlertmanager);

// An object schema nested `depth` levels deep (depth 1 = flat).
function nestedSchema(depth) {
  let s = { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'], additionalProperties: false };
  for (let i = 1; i < depth; i++) {
    s = { type: 'object', properties: { [`level${i}`]: s }, required: [`level${i}`], additionalProperties: false };
  }
  return s;
}
const deepBody = (user) => chat('m', 'Fill the form.', {
  user, response_format: { type: 'json_schema', json_schema: { name: 'form', schema: nestedSchema(4) } },
});
const flatBody = (user) => chat('m', 'Say hello.', { user });

before(async () => {
  assert.ok(alertmanagerBin, 'prometheus-alertmanager must be installed (tools/install-deps.sh)');
  dir = tmpDir();
  stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir);

  const amPort = await closedPort();
  amUrl = `http://127.0.0.1:${amPort}`;
  const amCfg = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(amCfg, 'route:\n  receiver: "null"\n  group_wait: 0s\nreceivers:\n  - name: "null"\n');
  am = spawn(alertmanagerBin, [
    `--config.file=${amCfg}`, `--storage.path=${path.join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=', '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [am.stdout, am.stderr]) s.on('data', (d) => amLog.push(String(d)));
  await waitFor(async () => {
    try { return (await fetch(`${amUrl}/-/ready`)).status === 200; } catch { return false; }
  }, { timeoutMs: 20_000, what: 'alertmanager ready' });

  const profile = path.join(dir, 'canary-deep-slip.yaml');
  fs.writeFileSync(profile, 'slippage:\n  - kind: schema_violation\n    p: 0.6\n    when: {min_schema_depth: 3}\n');
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 8 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', profile, seed: 3, ...timing });
  config = modelConfig({
    name: 'm', baseline, canary, weight: 50,
    extra: {
      admin: { address: '127.0.0.1', port: 0, token_env: 'E2E_ADMIN_TOKEN' },
      state_dir: stateDir,
      rollout_evaluate_every: '200ms',
      alerting: { alertmanager: { url: amUrl }, resend_every: '2s', timeout: '2s' },
      slices: [
        { name: 'deep_schema', schema_depth_at_least: 3 },
        { name: 'json_schema', response_format: 'json_schema' },
      ],
    },
  });
  config.models[0].rollout = {
    revision: 'r1',
    bucket: '1s',
    steps: [{ weight: 25, hold: '1s' }],
    triggers: [
      { name: 'aggregate_schema', sli: 'validation_failure_rate', slice: 'all', window: '60s', min_samples: 100,
        tolerance: { absolute: 0.2 }, confidence: 0.99 },
      { name: 'slice_schema', sli: 'validation_failure_rate', slice: 'each', window: '60s', min_samples: 60,
        tolerance: { absolute: 0.02 }, confidence: 0.99 },
    ],
  };
});

after(async () => {
  killAlertmanager();
  await stopAll();
});

async function adminPortOf(gw) {
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  return Number(ev.port);
}

async function admin(port, method, p, body, token = TOKEN) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, json };
}

async function modelState(port) {
  const r = await admin(port, 'GET', '/admin/v1/state');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.models.find((m) => m.model === 'm');
}

// One request; returns the variant that answered.
async function send(gw, body) {
  const r = await postJson(`${gw.base}/chat/completions`, body);
  assert.equal(r.status, 200, `status ${r.status}`);
  return r.headers.get('x-slipway-variant');
}

async function activeAlerts() {
  const r = await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=true&inhibited=true`);
  return (await r.json()).filter((a) => a.labels.alertname === 'SlipwayCanaryRolledBack' && a.status?.state === 'active');
}

test('a slice regression rolls the canary back, pages on-call, survives SIGKILL, and resumes by the admin API', { timeout: 150_000 }, withLogs(async () => {
  const env = { E2E_ADMIN_TOKEN: TOKEN };
  let gw = await startGateway(config, { env });
  let adminPort = await adminPortOf(gw);

  // Without the token (or with a wrong one) the admin API refuses every call.
  for (const [method, p, body] of [
    ['GET', '/admin/v1/state'], ['POST', '/admin/v1/models/m/rollback', { reason: 'x' }],
    ['POST', '/admin/v1/models/m/resume', { reason: 'x' }], ['PUT', '/admin/v1/models/m/weight', { weight_percent: 5, reason: 'x' }],
  ]) {
    assert.equal((await admin(adminPort, method, p, body, null)).status, 401, `${method} ${p} without token`);
    assert.equal((await admin(adminPort, method, p, body, TOKEN + 'x')).status, 401, `${method} ${p} wrong token`);
  }

  // Progressive steps: the canary starts at the first step's weight.
  let st = await modelState(adminPort);
  assert.equal(st.rollout.latched, false);
  assert.equal(st.rollout.step, 0);
  assert.equal(st.effective_weight, 25);

  // Traffic until the latch, one deep-schema request in four, users spread over the split.
  let sent = 0;
  let rollbackEvent;
  const seen = { canary: 0, baseline: 0 };
  while (!rollbackEvent && sent < MAX_REQUESTS) {
    const batch = [];
    for (let i = 0; i < 64; i++, sent++) {
      const user = `u${sent}`;
      batch.push(send(gw, sent % 4 === 0 ? deepBody(user) : flatBody(user)).then((v) => { seen[v] = (seen[v] ?? 0) + 1; }));
    }
    await Promise.all(batch);
    rollbackEvent = gw.proc.events().find((e) => e.event === 'rollback');
  }
  assert.ok(rollbackEvent, `no rollback after ${sent} requests (canary answered ${seen.canary})`);
  const rollbackLine = gw.proc.lines.findIndex((l) => l.json?.event === 'rollback');
  console.log(`# rollback after ${sent} requests (${seen.canary} canary): ${JSON.stringify(rollbackEvent)}`);

  // The slice trigger fired on the deep slice, with its numbers; the aggregate did not.
  assert.equal(rollbackEvent.trigger, 'slice_schema');
  assert.equal(rollbackEvent.slice, 'deep_schema');
  assert.equal(rollbackEvent.persisted, true);
  assert.equal(rollbackEvent.weight, 0);
  const n = rollbackEvent.numbers;
  assert.ok(n.canary_rate > 0.3 && n.baseline_rate === 0, JSON.stringify(n));
  assert.ok(n.canary_n >= 60 && n.baseline_n >= 60, JSON.stringify(n));
  assert.ok(n.p_value < n.threshold, JSON.stringify(n));
  st = await modelState(adminPort);
  assert.equal(st.rollout.latched, true);
  assert.equal(st.effective_weight, 0);
  assert.equal(st.rollout.reason.trigger, 'slice_schema');
  const aggregate = st.rollout.triggers.find((t) => t.trigger === 'aggregate_schema');
  assert.ok(aggregate, JSON.stringify(st.rollout.triggers));
  assert.notEqual(aggregate.verdict, 'fired');
  assert.ok(aggregate.canary_rate < 0.2, `aggregate canary failure rate ${aggregate.canary_rate} within its tolerance`);

  // Weight 0 from the decision on: every request after the log line goes to the baseline. The latch is
  // applied before the line is written, so "within one second" holds with room to spare.
  const afterDecision = [];
  for (let i = 0; i < 200; i++) afterDecision.push(send(gw, flatBody(`after-${i}`)));
  assert.deepEqual([...new Set(await Promise.all(afterDecision))], ['baseline']);
  const requestsToCanary = gw.proc.events(rollbackLine).filter((e) => e.event === 'request' && e.variant === 'canary').length;
  // Requests already split before the decision may still finish on the canary; none may start after it.
  assert.ok(requestsToCanary <= 64, `${requestsToCanary} canary requests logged after the rollback line`);

  // The metrics say it too.
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /slipway_rollback_active\{model="m"\} 1/);
  assert.match(metrics, /slipway_rollbacks_total\{model="m",trigger="slice_schema",slice="deep_schema"\} 1/);
  assert.match(metrics, /slipway_canary_weight_percent\{model="m"\} 0/);

  // The real Alertmanager has the alert, with the numbers.
  let alert;
  await waitFor(async () => { [alert] = await activeAlerts(); return !!alert; }, { timeoutMs: 15_000, what: 'alert in Alertmanager' });
  assert.equal(alert.labels.model, 'm');
  assert.equal(alert.labels.trigger, 'slice_schema');
  assert.equal(alert.labels.slice, 'deep_schema');
  assert.ok(alert.labels.severity);
  assert.ok(Number(alert.annotations.canary_rate) > 0.3, JSON.stringify(alert.annotations));
  assert.equal(Number(alert.annotations.baseline_rate), 0);
  assert.ok(Number(alert.annotations.p_value) < Number(alert.annotations.threshold));
  assert.ok(alert.annotations.runbook_url);

  // SIGKILL: no drain, no goodbye. The latch is on disk; the new process starts rolled back.
  gw.proc.child.kill('SIGKILL');
  await gw.proc.exitPromise;
  const files = fs.readdirSync(stateDir);
  assert.deepEqual(files.filter((f) => f.endsWith('.json')), ['rollout-m.json']);
  gw = await startGateway(config, { env });
  adminPort = await adminPortOf(gw);
  await gw.proc.waitForEvent('rollback_restored');
  st = await modelState(adminPort);
  assert.equal(st.rollout.latched, true);
  assert.equal(st.rollout.reason.trigger, 'slice_schema');
  assert.equal(st.effective_weight, 0);
  const restarted = [];
  for (let i = 0; i < 100; i++) restarted.push(send(gw, flatBody(`restart-${i}`)));
  assert.deepEqual([...new Set(await Promise.all(restarted))], ['baseline']);

  // Resume through the admin API: latch cleared, persisted, the first progressive step, the alert resolved.
  const resumed = await admin(adminPort, 'POST', '/admin/v1/models/m/resume', { reason: 'e2e: int4 build fixed' });
  assert.equal(resumed.status, 200, JSON.stringify(resumed.json));
  st = await modelState(adminPort);
  assert.equal(st.rollout.latched, false);
  assert.equal(st.rollout.step, 0);
  assert.equal(st.effective_weight, 25);
  const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, 'rollout-m.json'), 'utf8'));
  assert.equal(onDisk.latched, false);
  await waitFor(async () => (await activeAlerts()).length === 0, { timeoutMs: 15_000, what: 'alert resolved in Alertmanager' });
  const canaryAgain = [];
  for (let i = 0; i < 200; i++) canaryAgain.push(send(gw, flatBody(`resumed-${i}`)));
  const variants = await Promise.all(canaryAgain);
  assert.ok(variants.includes('canary'), 'the canary serves again after resume');
}));
