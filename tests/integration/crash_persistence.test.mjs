// SIGKILL during rollback persistence never leaves a corrupt state file (issue 8).
// 30 rounds: start the gateway on the same state_dir, check it came up with the state the file holds, send a
// burst of admin calls that each persist the rollout state (PUT weight with distinct values; a manual rollback
// or a resume in some rounds), and SIGKILL the gateway a random 0-25 ms into the burst. After each kill the
// state file must be complete JSON in the state file's shape, and either the state before the burst or one
// the burst's calls could have written. Temp files left by a writer killed mid-write must not pile up: the next
// start removes them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, sleep, tmpDir, writeFileAtomic, toYaml,
} from '../lib/harness.mjs';

const ROUNDS = 30;
const BURST = 8;
const TOKEN = 'crash-test-token-3b7e1f09a2c4d6e8';
let baseline, canary, stateDir, configPath;

before(async () => {
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ttftMs: 0, tokenMs: 0 });
  canary = await startSim({ model: 'm-int4', name: 'canary', ttftMs: 0, tokenMs: 0 });
  stateDir = path.join(tmpDir(), 'state');
  fs.mkdirSync(stateDir);
  const c = modelConfig({
    name: 'm', baseline, canary, weight: 30,
    extra: { admin: { address: '127.0.0.1', port: 0, token_env: 'CRASH_TOKEN' }, state_dir: stateDir },
  });
  c.models[0].rollout = {
    revision: 'r1',
    triggers: [{ name: 'schema', sli: 'validation_failure_rate', slice: 'all', window: '30m', min_samples: 100, tolerance: { absolute: 0.01 } }],
  };
  configPath = path.join(tmpDir(), 'crash.yaml');
  writeFileAtomic(configPath, toYaml(c) + '\n');
});

after(() => stopAll());

const statePath = () => path.join(stateDir, 'rollout-m.json');
const leftovers = (exceptPid) => fs.readdirSync(stateDir)
  .filter((f) => f !== 'rollout-m.json' && !(exceptPid && f.endsWith(`.${exceptPid}`)));

/** The state file as the gateway wrote it: complete JSON with every key of format 1. Throws otherwise. */
function readState() {
  const text = fs.readFileSync(statePath(), 'utf8');
  const s = JSON.parse(text);   // a torn write fails here
  assert.ok(text.endsWith('}\n'), `the file does not end the way the writer ends it: ${JSON.stringify(text.slice(-40))}`);
  assert.equal(s.format, 1);
  assert.equal(s.revision, 'r1');
  assert.equal(typeof s.latched, 'boolean');
  assert.equal(typeof s.latched_at_unix_ms, 'number');
  assert.equal(typeof s.step, 'number');
  assert.ok(s.weight_override === null || typeof s.weight_override === 'number', `weight_override ${s.weight_override}`);
  assert.ok(s.latched ? s.reason?.trigger === 'manual' : true, `latched without a manual reason: ${text}`);
  return s;
}

async function start() {
  const gw = await startGateway(null, { configPath, env: { CRASH_TOKEN: TOKEN } });
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  gw.adminUrl = `http://127.0.0.1:${ev.port}`;
  gw.admin = async (method, p, body) => {
    const r = await fetch(`${gw.adminUrl}${p}`, {
      method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    });
    return { status: r.status, json: await r.json() };
  };
  return gw;
}

/** The restarted gateway serves the state the file holds (nothing lost, nothing invented, nothing unreadable). */
async function expectRestoredFrom(gw, file) {
  const m = (await gw.admin('GET', '/admin/v1/state')).json.models.find((x) => x.model === 'm');
  assert.equal(m.rollout.latched, file?.latched ?? false, 'latched after the restart');
  assert.equal(m.rollout.weight_override, file?.weight_override ?? null, 'weight_override after the restart');
  const expectWeight = file?.latched ? 0 : (file?.weight_override ?? 30);
  assert.equal(m.effective_weight, expectWeight, 'effective weight after the restart');
  assert.equal(gw.proc.events().filter((e) => e.event === 'rollout_state_unreadable').length, 0, 'state file unreadable at start');
}

test(`SIGKILL during persistence, ${ROUNDS} times: the state file is always the old or a new complete state; restarts restore it; no temp files pile up`,
  { timeout: 120_000 }, withLogs(async () => {
    let file = null;   // the state file's content before the round (null: none yet)
    let old = 0, changed = 0, midWrite = 0, persistedCalls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const gw = await start();
      await expectRestoredFrom(gw, file);
      assert.deepEqual(leftovers(gw.proc.child.pid), [], `round ${round}: temp files left after a restart`);
      if (!file) file = readState();   // the first start writes the initial state

      // The burst: distinct weights, so the file tells which call wrote it; a rollback or a resume in some rounds.
      const weights = Array.from({ length: BURST }, (_, k) => Math.round((round * BURST + k) * 1.25 % 100 * 100) / 100 + 0.25);
      const calls = weights.map((w) => () => gw.admin('PUT', '/admin/v1/models/m/weight', { weight_percent: w, reason: `round ${round}` }));
      let latchedAfter = [file.latched];
      const overrides = [file.weight_override, ...weights];   // what the file may say after the kill
      if (round % 3 === 1 && !file.latched) {
        calls.splice(BURST / 2, 0, () => gw.admin('POST', '/admin/v1/models/m/rollback', { reason: `crash round ${round}` }));
        latchedAfter = [file.latched, true];
      } else if (round % 3 === 2 && file.latched) {
        calls.splice(BURST / 2, 0, () => gw.admin('POST', '/admin/v1/models/m/resume', { reason: `crash round ${round}` }));
        latchedAfter = [file.latched, false];
        overrides.push(null);   // a resume clears the override: its own write may be the last one
      }
      const answers = calls.map((c) => c().then((r) => { if (r.status === 200) persistedCalls++; }, () => {}));
      await sleep(Math.random() * 25);
      gw.proc.child.kill('SIGKILL');
      await gw.proc.exitPromise;
      await Promise.all(answers);
      await gw.stop();

      if (leftovers().length) midWrite++;
      const now = readState();
      const sameAsBefore = JSON.stringify(now) === JSON.stringify(file);
      if (sameAsBefore) old++;
      else {
        changed++;
        assert.ok(overrides.includes(now.weight_override),
          `round ${round}: weight_override ${now.weight_override} is none of ${JSON.stringify(overrides)} (the old one, the burst's, or a resume's null)`);
        assert.ok(latchedAfter.includes(now.latched), `round ${round}: latched ${now.latched}`);
      }
      file = now;
    }
    // The last kill's state, restored once more, and its temp files (if any) gone.
    const gw = await start();
    await expectRestoredFrom(gw, file);
    assert.deepEqual(leftovers(gw.proc.child.pid), [], 'temp files left after the last restart');
    await gw.stop();
    process.stdout.write(`# crash persistence: ${ROUNDS} kills, ${persistedCalls} admin calls answered before a kill, `
      + `file unchanged by the kill's burst ${old} times, changed ${changed} times, a temp file left by a kill mid-write ${midWrite} times, 0 corrupt\n`);
  }));
