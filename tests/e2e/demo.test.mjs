// Smoke test of the README's first command: ./demo.sh starts the simulators, the gateway and the traffic,
// shows live lines with both variants answering, stops by itself with --duration, and on SIGINT stops every
// process it started. ctest has built the binaries already, so it runs with --no-build. It uses the fixed demo ports (8001, 8002, 8080): skipped when they are taken.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { SOURCE_DIR, SLIPWAY_BIN, sleep, waitFor } from '../lib/harness.mjs';

const PORTS = [8001, 8002, 8080, 8081, 9090, 9093];
const buildDir = path.dirname(SLIPWAY_BIN);
const children = new Set();

// demo.sh must get the chance to run its trap (which stops its own children): SIGTERM, then SIGKILL.
after(async () => {
  await Promise.all([...children].map(async (c) => {
    c.kill('SIGTERM');
    const gone = await Promise.race([new Promise((r) => c.once('exit', () => r(true))), sleep(10_000).then(() => false)]);
    if (!gone) c.kill('SIGKILL');
  }));
});
process.on('exit', () => { for (const c of children) try { c.kill('SIGTERM'); } catch { /* gone */ } });

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}
async function busyPorts() {
  const open = await Promise.all(PORTS.map(portOpen));
  return PORTS.filter((_, i) => open[i]);
}

function runDemo(args) {
  const child = spawn(path.join(SOURCE_DIR, 'demo.sh'), args, {
    cwd: SOURCE_DIR, env: { ...process.env, BUILD_DIR: buildDir }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const run = { child, out: '', exit: null };
  child.stdout.on('data', (d) => { run.out += d; });
  child.stderr.on('data', (d) => { run.out += d; });
  run.done = new Promise((resolve) => child.on('exit', (code, signal) => { run.exit = code ?? signal; children.delete(child); resolve(run.exit); }));
  return run;
}

function lastSummary(out) {
  const lines = out.split('\n').filter((l) => /^\[\s*\d+s\] sent/.test(l));
  return lines.at(-1);
}

test('./demo.sh --duration runs mixed traffic through both variants and stops by itself, cleanly', async (t) => {
  const busy = await busyPorts();
  if (busy.length) { t.skip(`demo ports in use: ${busy.join(', ')}`); return; }
  const run = runDemo(['--no-build', '--duration', '10', '--rate', '15']);
  const timer = setTimeout(() => run.child.kill('SIGTERM'), 150_000);
  const code = await run.done;
  clearTimeout(timer);
  try {
    assert.equal(code, 0, 'demo.sh exit code');
    assert.match(run.out, /slipway demo is up/);
    assert.match(run.out, /http:\/\/127\.0\.0\.1:8080\/v1/);
    const summaries = run.out.split('\n').filter((l) => /^\[\s*\d+s\] sent/.test(l));
    assert.ok(summaries.length >= 3, `only ${summaries.length} live lines in 10 s`);
    const last = lastSummary(run.out);
    const m = /ok (\d+) errors (\d+).*baseline (\d+).*canary (\d+).*pinned (\d+) on canary (\d+).*flips (\d+)/.exec(last);
    assert.ok(m, `unexpected summary line: ${last}`);
    const [ok, errors, baseline, canary, pinned, pinnedOnCanary, flips] = m.slice(1).map(Number);
    assert.ok(ok >= 50, `only ${ok} successful requests`);
    assert.ok(errors <= ok * 0.02, `${errors} errors for ${ok} successes`);
    assert.ok(baseline > 0 && canary > 0, `both variants must answer: baseline ${baseline}, canary ${canary}`);
    assert.ok(pinned > 0, 'no pinned traffic');
    assert.equal(pinnedOnCanary, 0, 'pinned traffic reached the canary');
    assert.equal(flips, 0, 'users changed variant while the weight held');
    assert.match(run.out, /stopped/);
    await waitFor(async () => (await busyPorts()).length === 0, { timeoutMs: 5000, what: 'the demo processes to be gone (ports free)' });
  } catch (e) {
    process.stderr.write(`----- demo.sh output -----\n${run.out}\n`);
    throw e;
  }
});

test('Ctrl-C (SIGINT) stops every process ./demo.sh started', async (t) => {
  const busy = await busyPorts();
  if (busy.length) { t.skip(`demo ports in use: ${busy.join(', ')}`); return; }
  const run = runDemo(['--no-build', '--rate', '5']);
  const timer = setTimeout(() => run.child.kill('SIGTERM'), 150_000);
  try {
    await waitFor(() => lastSummary(run.out) !== undefined || run.exit !== null, { timeoutMs: 120_000, intervalMs: 200, what: 'the first live line' });
    assert.equal(run.exit, null, `demo.sh ended early:\n${run.out}`);
    assert.equal((await busyPorts()).length, PORTS.length, 'every demo service listens');
    run.child.kill('SIGINT');
    const code = await Promise.race([run.done, sleep(15_000).then(() => 'hung')]);
    assert.notEqual(code, 'hung', 'demo.sh did not stop within 15 s of SIGINT');
    await waitFor(async () => (await busyPorts()).length === 0, { timeoutMs: 5000, what: 'every demo process to be gone (ports free)' });
    assert.match(run.out, /stopped/);
  } catch (e) {
    process.stderr.write(`----- demo.sh output -----\n${run.out}\n`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
});

test('the tour: the canary\'s slice slippage trips a rollback within minutes, seen in Prometheus and Alertmanager', async (t) => {
  const busy = await busyPorts();
  if (busy.length) { t.skip(`demo ports in use: ${busy.join(', ')}`); return; }
  const run = runDemo(['--no-build', '--exit-on-rollback', '--duration', '300', '--rate', '40']);
  const timer = setTimeout(() => run.child.kill('SIGTERM'), 330_000);
  const code = await run.done;
  clearTimeout(timer);
  try {
    assert.equal(code, 0, 'demo.sh --exit-on-rollback exit code');
    const box = /CANARY ROLLED BACK after (\d+)s: model demo, trigger (\S+) on slice (\S+)/.exec(run.out);
    assert.ok(box, 'the rollback box');
    console.log(`# rolled back after ${box[1]} s by ${box[2]} on ${box[3]}`);
    assert.match(run.out, /canary \d+\.\d% \(n=\d+\) vs baseline \d+\.\d% \(n=\d+\)/);
    assert.match(run.out, /canary weight: 20% configured, 0% now/);
    assert.match(run.out, /Prometheus: slipway_rollback_active == 1 for demo/);
    assert.match(run.out, /Alertmanager: SlipwayCanaryRolledBack \{model=demo, trigger=\S+, slice=\S+, severity=page\}/);
    assert.match(run.out, /admin\/v1\/models\/demo\/resume/);
    await waitFor(async () => (await busyPorts()).length === 0, { timeoutMs: 10_000, what: 'every demo process to be gone (ports free)' });
  } catch (e) {
    process.stderr.write(`----- demo.sh output -----\n${run.out}\n`);
    throw e;
  }
});
