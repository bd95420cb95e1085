// The rollout latch under operator control, without traffic: a weight override through the admin API is
// persisted and shown; a manual rollback latches; a reload that keeps the revision keeps the latch (whatever
// the configured weight); a new rollout.revision resumes and clears the override; a corrupt state file keeps
// the canary out at start; models without a rollout block or unknown models get 409 / 404.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, startGateway, modelConfig, stopAll, withLogs, tmpDir } from '../lib/harness.mjs';

const TOKEN = 'control-test-token-42';
let baseline, canary, stateDir;

before(async () => {
  baseline = await startSim({ model: 'm-fp16', name: 'baseline' });
  canary = await startSim({ model: 'm-int4', name: 'canary' });
  stateDir = path.join(tmpDir(), 'state');
  fs.mkdirSync(stateDir);
});
after(() => stopAll());

function config({ revision = 'r1', weight = 30 } = {}) {
  const c = modelConfig({
    name: 'm', baseline, canary, weight,
    extra: { admin: { address: '127.0.0.1', port: 0, token_env: 'CONTROL_TOKEN' }, state_dir: stateDir, rollout_evaluate_every: '100ms' },
  });
  c.models[0].rollout = {
    revision,
    triggers: [{ name: 'schema', sli: 'validation_failure_rate', slice: 'all', window: '30m', min_samples: 100, tolerance: { absolute: 0.01 } }],
  };
  // A second model with a canary but no rollout block.
  c.models.push({
    name: 'plain', baseline: { served_model: baseline.model, endpoints: [baseline.endpoint] },
    canary: { served_model: canary.model, weight: 5, endpoints: [canary.endpoint] },
  });
  return c;
}

async function start(cfg) {
  const gw = await startGateway(cfg, { env: { CONTROL_TOKEN: TOKEN } });
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  gw.admin = async (method, p, body) => {
    const r = await fetch(`http://127.0.0.1:${ev.port}${p}`, {
      method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: await r.json() };
  };
  gw.model = async (name = 'm') => (await gw.admin('GET', '/admin/v1/state')).json.models.find((m) => m.model === name);
  gw.metrics = async () => (await fetch(`http://127.0.0.1:${ev.port}/metrics`)).text();
  return gw;
}

const stateFile = () => JSON.parse(fs.readFileSync(path.join(stateDir, 'rollout-m.json'), 'utf8'));

test('override, manual rollback, reload, new revision, corrupt state file', { timeout: 60_000 }, withLogs(async () => {
  let gw = await start(config());
  let m = await gw.model();
  assert.equal(m.configured_weight, 30);
  assert.equal(m.effective_weight, 30);
  assert.equal(m.rollout.latched, false);
  assert.equal(m.rollout.revision, 'r1');
  assert.equal(stateFile().latched, false, 'the state file exists from the start');

  // Weight override: applied, persisted, shown; the metric follows.
  let r = await gw.admin('PUT', '/admin/v1/models/m/weight', { weight_percent: 10, reason: 'slow ramp' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  m = await gw.model();
  assert.equal(m.effective_weight, 10);
  assert.equal(m.rollout.weight_override, 10);
  assert.equal(stateFile().weight_override, 10);
  assert.match(await gw.metrics(), /slipway_canary_weight_percent\{model="m"\} 10\n/);
  assert.match(await gw.metrics(), /slipway_canary_configured_weight_percent\{model="m"\} 30\n/);

  // Manual rollback.
  r = await gw.admin('POST', '/admin/v1/models/m/rollback', { reason: 'on-call: tool calls look off' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  m = await gw.model();
  assert.equal(m.rollout.latched, true);
  assert.equal(m.effective_weight, 0);
  assert.equal(m.rollout.reason.trigger, 'manual');
  assert.equal(m.rollout.reason.message, 'on-call: tool calls look off');
  assert.equal(stateFile().latched, true);
  const metrics = await gw.metrics();
  assert.match(metrics, /slipway_rollback_active\{model="m"\} 1\n/);
  assert.match(metrics, /slipway_rollbacks_total\{model="m",trigger="manual",slice=""\} 1\n/);
  const line = await gw.proc.waitForEvent('rollback', { pred: (j) => j.trigger === 'manual' });
  assert.equal(line.persisted, true);

  // A reload that keeps the revision keeps the latch, even with a higher configured weight.
  let mark = gw.writeConfig(config({ weight: 40 }));
  await gw.waitForReload({ from: mark });
  m = await gw.model();
  assert.equal(m.configured_weight, 40);
  assert.equal(m.effective_weight, 0);
  assert.equal(m.rollout.latched, true);

  // Models without rollout, unknown models.
  assert.equal((await gw.admin('POST', '/admin/v1/models/plain/rollback', { reason: 'x' })).status, 409);
  assert.equal((await gw.admin('POST', '/admin/v1/models/nope/rollback', { reason: 'x' })).status, 404);

  // A new revision is the SRE's way back through the config: latch and override cleared, configured weight.
  mark = gw.writeConfig(config({ revision: 'r2', weight: 40 }));
  await gw.waitForReload({ from: mark });
  m = await gw.model();
  assert.equal(m.rollout.latched, false);
  assert.equal(m.rollout.revision, 'r2');
  assert.equal(m.rollout.weight_override, null);
  assert.equal(m.effective_weight, 40);
  const resumed = await gw.proc.waitForEvent('rollout_resumed', { pred: (j) => j.by === 'config' });
  assert.equal(resumed.was_latched, true);
  assert.equal(stateFile().revision, 'r2');
  assert.equal(stateFile().latched, false);
  await gw.stop();

  // A corrupt state file: the canary stays out until an operator decides.
  fs.writeFileSync(path.join(stateDir, 'rollout-m.json'), '{"format":1,"revision":');
  gw = await start(config({ revision: 'r2', weight: 40 }));
  const unreadable = await gw.proc.waitForEvent('rollout_state_unreadable');
  assert.match(unreadable.error, /rollout-m\.json/);
  m = await gw.model();
  assert.equal(m.rollout.latched, true);
  assert.equal(m.rollout.reason.trigger, 'state_file');
  assert.equal(m.effective_weight, 0);
  // ... and resume through the admin API rewrites a good file.
  r = await gw.admin('POST', '/admin/v1/models/m/resume', { reason: 'checked the file' });
  assert.equal(r.status, 200);
  assert.equal(stateFile().latched, false);
  assert.equal((await gw.model()).effective_weight, 40);
}));
