// Hot reload: the canary weight raised 10 -> 30 by editing the file while traffic flows (no failed request,
// no user moves from canary back to baseline, the new share applies); a bad file is rejected with a log
// event naming the key and the old weights keep serving; a Kubernetes ConfigMap style symlink swap is seen.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, pool, sleep, tmpDir, toYaml, getJson,
} from '../lib/harness.mjs';

const USERS = 2000;

let baseline, canary;

before(async () => {
  const timing = { ttftMs: 0, tokenMs: 1, outputTokens: 5 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', ...timing });
});

after(async () => { await stopAll(); });

const config = (weight) => modelConfig({ name: 'm', baseline, canary, weight });

/** One request; returns { ok, status, variant, text }. Never throws (a network error is a failure). */
async function ask(gw, user) {
  try {
    const r = await postJson(`${gw.base}/chat/completions`, chat('m', 'hi', { user, max_tokens: 5 }));
    return { ok: r.status === 200, status: r.status, variant: r.headers.get('x-slipway-variant'), text: r.text.slice(0, 200) };
  } catch (e) {
    return { ok: false, status: 0, variant: null, text: String(e?.cause?.message ?? e.message) };
  }
}

/** One request on a new connection (Connection: close); same result shape as ask(). */
function askFresh(gw, user) {
  return new Promise((resolve) => {
    const req = http.request(`${gw.base}/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, variant: res.headers['x-slipway-variant'] ?? null, text: text.slice(0, 200) }));
    });
    req.on('error', (e) => resolve({ ok: false, status: 0, variant: null, text: e.message }));
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(chat('m', 'hi', { user, max_tokens: 5 })));
  });
}

/**
 * Assigns every user once; returns Map user -> variant (throws on any failure). fresh: each request on a new
 * connection, so that a test of something else does not depend on how keep-alive connections see a reload
 * (that has its own test below).
 */
async function assignAll(gw, users, { fresh = false } = {}) {
  const map = new Map();
  const failures = [];
  await pool(users.length, 16, async (i) => {
    const r = await (fresh ? askFresh : ask)(gw, users[i]);
    if (!r.ok) failures.push(`${users[i]}: ${r.status} ${r.text}`);
    map.set(users[i], r.variant);
  });
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} requests failed`);
  return map;
}

const share = (map) => (100 * [...map.values()].filter((v) => v === 'canary').length) / map.size;

test('weight 10 -> 30 while traffic flows: no failed request, nobody moves canary -> baseline, new share applies', withLogs(async () => {
  const gw = await startGateway(config(10));
  const users = Array.from({ length: USERS }, (_, i) => `reload-user-${i}`);

  const before = await assignAll(gw, users);
  const s0 = share(before);
  // n = 2000: sd 0.67 points at 10%, 1.0 at 30%.
  assert.ok(Math.abs(s0 - 10) <= 3, `share before reload ${s0.toFixed(2)}%`);

  // Traffic: users in round robin, each request's (time, variant) recorded per user.
  const history = new Map(users.map((u) => [u, []]));
  const failures = [];
  let stop = false;
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (!stop) {
      const user = users[next++ % USERS];
      const t = performance.now();
      const r = await ask(gw, user);
      sent++;
      if (!r.ok) failures.push(`${user}: ${r.status} ${r.text}`);
      else history.get(user).push({ t, variant: r.variant });
    }
  };
  const workers = Array.from({ length: 16 }, worker);

  await sleep(700);
  const mark = gw.writeConfig(config(30));
  const tWrite = performance.now();
  const ev = await gw.waitForReload({ from: mark, timeoutMs: 5000 });
  const reloadMs = performance.now() - tWrite;
  const tReloaded = performance.now();
  assert.equal(Number(ev.generation), 2, 'the first reload is generation 2');
  // Keep the traffic going until every user has been asked at least once after the reload was logged.
  const startNext = next;
  while (next < startNext + USERS + 500) await sleep(50);
  stop = true;
  await Promise.all(workers);

  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${sent} requests failed during the reload`);
  assert.ok(reloadMs <= 1500, `the reload took ${reloadMs.toFixed(0)} ms to be applied (weight edits must apply within a second)`);

  const backwards = [];
  const lostCanary = [];
  for (const [user, h] of history) {
    for (let i = 1; i < h.length; i++) {
      if (h[i - 1].variant === 'canary' && h[i].variant === 'baseline') { backwards.push(user); break; }
    }
    if (before.get(user) === 'canary' && h.some((x) => x.variant === 'baseline')) lostCanary.push(user);
  }
  assert.deepEqual(backwards.slice(0, 10), [], `${backwards.length} users moved from canary back to baseline`);
  assert.deepEqual(lostCanary.slice(0, 10), [], `${lostCanary.length} users that were canary got baseline answers`);

  // After the reload, the share is 30%: the last answer of each user that was asked after the reload.
  const after = new Map();
  for (const [user, h] of history) {
    const late = h.filter((x) => x.t > tReloaded + 50);
    if (late.length) after.set(user, late.at(-1).variant);
  }
  assert.ok(after.size >= USERS * 0.95, `only ${after.size} users asked after the reload`);
  const s1 = share(after);
  assert.ok(Math.abs(s1 - 30) <= 4, `share after reload ${s1.toFixed(2)}%`);
  await gw.stop();
}));

test('a bad config file (weight 150) is rejected with a message naming the key, and the old weights keep serving', withLogs(async () => {
  const gw = await startGateway(config(30));
  const users = Array.from({ length: USERS }, (_, i) => `bad-config-user-${i}`);
  const before = await assignAll(gw, users);
  assert.ok(Math.abs(share(before) - 30) <= 4, `share before ${share(before).toFixed(2)}%`);

  const mark = gw.writeConfig(config(150));
  const ev = await gw.waitForReject({ from: mark, timeoutMs: 5000 });
  const messages = JSON.stringify(ev.errors ?? ev);
  assert.match(messages, /models\[0\]\.canary\.weight/, `rejection does not name the key path: ${messages}`);
  assert.match(messages, /150/, `rejection does not show the bad value: ${messages}`);
  assert.match(messages, /line \d+|"line":\s*\d+/, `rejection does not give the line: ${messages}`);
  await sleep(300);
  assert.equal(gw.proc.events(mark).filter((e) => e.event === 'config_reloaded').length, 0, 'a bad config was applied');
  assert.ok(gw.proc.alive, 'the gateway exited on a bad config');

  // The old weights (30) still serve, user by user.
  const afterMap = await assignAll(gw, users);
  const moved = users.filter((u) => afterMap.get(u) !== before.get(u));
  assert.deepEqual(moved.slice(0, 10), [], `${moved.length} users changed variant after a rejected config`);
  assert.equal((await getJson(`${gw.url}/readyz`)).status, 200, '/readyz after a rejected config');

  // Garbage YAML is rejected too, and a good file afterwards applies.
  const mark2 = gw.writeConfig('models: [ {name: m, baseline: \n  : : :\n');
  await gw.waitForReject({ from: mark2, timeoutMs: 5000 });
  const mark3 = gw.writeConfig(config(0));
  await gw.waitForReload({ from: mark3, timeoutMs: 5000 });
  const zero = await assignAll(gw, users.slice(0, 300), { fresh: true });
  assert.equal(share(zero), 0, 'weight 0 still sends traffic to the canary');
  await gw.stop();
}));

test('a keep-alive connection that was idle across a reload serves its next request with the new config', withLogs(async () => {
  const gw = await startGateway(config(0));
  // One client connection, kept alive between requests.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  const askOnAgent = (user) => new Promise((resolve, reject) => {
    const req = http.request(`${gw.base}/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      sockets.add(req.socket);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, variant: res.headers['x-slipway-variant'] }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(chat('m', 'hi', { user, max_tokens: 3 })));
  });
  try {
    const first = await askOnAgent('idle-user-1');
    assert.equal(first.variant, 'baseline', 'weight 0');
    const mark = gw.writeConfig(config(100));
    await gw.waitForReload({ from: mark, timeoutMs: 5000 });
    await sleep(1000);   // "weight edits apply within a second"
    const second = await askOnAgent('idle-user-1');
    assert.equal(sockets.size, 1, 'the test needs both requests on one connection');
    assert.equal(second.status, 200);
    assert.equal(second.variant, 'canary',
      'a request that arrived after the reload, on a connection opened before it, was split with the old weight (0)');
  } finally {
    agent.destroy();
    await gw.stop();
  }
}));

test('SIGHUP reloads the config file (like nginx: a reload on request, even when the file is unchanged)', withLogs(async () => {
  const gw = await startGateway(config(0));
  const users = Array.from({ length: 300 }, (_, i) => `hup-user-${i}`);
  assert.equal(share(await assignAll(gw, users)), 0);
  // The file is not touched, so the file watcher has nothing to see: only the signal can cause this reload.
  const mark = gw.proc.lines.length;
  gw.proc.child.kill('SIGHUP');
  const ev = await gw.waitForReload({ from: mark, timeoutMs: 5000 });
  assert.equal(Number(ev.generation), 2);
  await sleep(100);
  assert.ok(gw.proc.alive, 'the gateway died on SIGHUP');
  assert.equal(share(await assignAll(gw, users)), 0);
  await gw.stop();
}));

test('a Kubernetes ConfigMap style symlink swap is seen', withLogs(async () => {
  // <dir>/config.yaml -> ..data/config.yaml, ..data -> ..v1 ; the update swaps ..data to ..v2 atomically.
  const dir = path.join(tmpDir(), 'configmap');
  fs.mkdirSync(path.join(dir, '..v1'), { recursive: true });
  fs.writeFileSync(path.join(dir, '..v1', 'config.yaml'), toYaml(config(0)) + '\n');
  fs.symlinkSync('..v1', path.join(dir, '..data'));
  fs.symlinkSync('..data/config.yaml', path.join(dir, 'config.yaml'));

  const gw = await startGateway(null, { configPath: path.join(dir, 'config.yaml') });
  const users = Array.from({ length: 300 }, (_, i) => `cm-user-${i}`);
  assert.equal(share(await assignAll(gw, users)), 0);

  fs.mkdirSync(path.join(dir, '..v2'));
  fs.writeFileSync(path.join(dir, '..v2', 'config.yaml'), toYaml(config(100)) + '\n');
  const mark = gw.proc.lines.length;
  fs.symlinkSync('..v2', path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  fs.rmSync(path.join(dir, '..v1'), { recursive: true });
  await gw.waitForReload({ from: mark, timeoutMs: 5000 });
  await sleep(100);
  assert.equal(share(await assignAll(gw, users, { fresh: true })), 100, 'weight 100 after the ConfigMap swap');
  await gw.stop();
}));
