// Fleet mode (issue 10, docs/fleet.md): three gateway replicas share their rollout windows and latch through a
// real redis-server started here on loopback. Two simulators; the canary breaks deeply nested JSON schemas
// (slice deep_schema) and nothing else. Checked, in order:
//  - one replica taking all the traffic (no fleet) decides after some number of deep-slice requests: the
//    reference;
//  - sticky assignment: the same user gets the same variant from every replica (no shared state: the hash);
//  - traffic spread over three replicas, one of them SIGKILLed mid-run and restarted: the fleet decides with
//    about the same number of deep-slice requests in the test as the single replica, while no replica saw that
//    many itself;
//  - the replica that wins the latch is SIGKILLed mid-decision: after its latch write reached the store, as its
//    alert leaves (a proxy in front of Alertmanager drops it): the others are at weight 0 within one second,
//    their clients see no failure, another replica claims the unsent alert after the grace period, so exactly
//    one alert reaches Alertmanager; the killed replica, restarted with no state file, comes up rolled back
//    (from the store) and does not page again;
//  - the store slowed (DEBUG SLEEP 2): no client request fails or waits on it, the latch stays;
//  - the store killed and restarted empty: requests go on, replicas report the loss, the latch is written back;
//  - resume through one replica's admin API reaches all three.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, tmpDir, closedPort, waitFor, sleep,
} from '../lib/harness.mjs';

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const redisBin = which('redis-server');
const redisCli = which('redis-cli');
const alertmanagerBin = which('prometheus-alertmanager') || which('alertmanager');
const TOKEN = 'fleet-admin-token-0123456789';
const MAX_REQUESTS = 12_000;  // bound on each traffic phase
const PREFIX = 'fleettest';

let dir, baseline, canary, redisPort, redis, am, amUrl;
// The replicas post their alerts through proxies in the test (one port per replica id), so the test knows who
// sent what, and can kill a replica the moment its alert leaves (the alert is then dropped).
const proxies = {};  // replica id -> { server, url }
const alertPosts = [];   // { replica, firing, forwarded, t }
let killOnAlert = null;  // (replica id) => void: called on the next firing alert, which is then dropped
const children = [];
function killChildren() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killChildren);

function startRedis() {
  const r = spawn(redisBin, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--loglevel', 'warning', '--enable-debug-command', 'local'], { stdio: 'ignore' });
  children.push(r);
  return r;
}
function cli(...args) {
  const r = spawnSync(redisCli, ['-h', '127.0.0.1', '-p', String(redisPort), ...args], { encoding: 'utf8', timeout: 10_000 });
  return r.stdout.trim();
}
async function redisUp() {
  await waitFor(async () => cli('PING') === 'PONG', { timeoutMs: 10_000, what: 'redis-server answers PING' });
}

function nestedSchema(depth) {
  let s = { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'], additionalProperties: false };
  for (let i = 1; i < depth; i++) s = { type: 'object', properties: { [`level${i}`]: s }, required: [`level${i}`], additionalProperties: false };
  return s;
}
const deepBody = (user) => chat('m', 'Fill the form.', { user, response_format: { type: 'json_schema', json_schema: { name: 'form', schema: nestedSchema(4) } } });
const flatBody = (user) => chat('m', 'Say hello.', { user });

function gatewayConfig({ fleet, stateDir, replicaId }) {
  const cfg = modelConfig({
    name: 'm', baseline, canary, weight: 50,
    extra: {
      admin: { address: '127.0.0.1', port: 0, token_env: 'FLEET_ADMIN_TOKEN' },
      state_dir: stateDir,
      rollout_evaluate_every: '200ms',
      // The reference replica pages nobody: the fleet's alert must be the only one in Alertmanager.
      alerting: fleet ? { alertmanager: { url: proxies[replicaId].url }, resend_every: '2s', timeout: '2s' } : undefined,
      slices: [{ name: 'deep_schema', schema_depth_at_least: 3 }],
    },
  });
  cfg.models[0].rollout = {
    revision: 'r1',
    bucket: '1s',
    triggers: [{ name: 'slice_schema', sli: 'validation_failure_rate', slice: 'each', window: '60s', min_samples: 60,
      tolerance: { absolute: 0.02 }, confidence: 0.99 }],
  };
  if (fleet) cfg.fleet = { store: `redis://127.0.0.1:${redisPort}/0`, key_prefix: PREFIX, replica_id: replicaId, timeout: '200ms', flush_every: '200ms' };
  return cfg;
}

const env = { FLEET_ADMIN_TOKEN: TOKEN };
async function startReplica(id, stateDir) {
  const gw = await startGateway(gatewayConfig({ fleet: true, stateDir, replicaId: id }), { env });
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  gw.adminPort = Number(ev.port);
  gw.id = id;
  gw.stateDir = stateDir;
  return gw;
}
async function adminGet(gw, p) {
  const r = await fetch(`http://127.0.0.1:${gw.adminPort}${p}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
  return p === '/metrics' ? r.text() : r.json();
}
async function adminPost(gw, p, body) {
  const r = await fetch(`http://127.0.0.1:${gw.adminPort}${p}`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, json: await r.json() };
}
const modelState = async (gw) => (await adminGet(gw, '/admin/v1/state')).models.find((m) => m.model === 'm');
async function send(gw, body) {
  const t0 = performance.now();
  try {
    const r = await postJson(`${gw.base}/chat/completions`, body);
    return { gw, status: r.status, variant: r.headers.get('x-slipway-variant'), ms: performance.now() - t0 };
  } catch (e) {  // a replica SIGKILLed under the request (only allowed for one the test killed)
    return { gw, status: 0, error: String(e), ms: performance.now() - t0 };
  }
}
// Every request answered 200, except those sent to a replica the test killed.
function assertServed(results, what) {
  const failed = results.filter((r) => r.status !== 200 && !r.gw.killed);
  assert.equal(failed.length, 0, `${what}: ${failed.length} failed requests to live replicas, e.g. ${JSON.stringify(failed[0] && { id: failed[0].gw.id, status: failed[0].status, error: failed[0].error })}`);
}
// Replicas whose firing alert reached Alertmanager (through the proxy).
const senders = () => [...new Set(alertPosts.filter((p) => p.firing && p.forwarded).map((p) => p.replica))];
async function activeAlerts() {
  const r = await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=true&inhibited=true`);
  return (await r.json()).filter((a) => a.labels.alertname === 'SlipwayCanaryRolledBack' && a.status?.state === 'active');
}
const metricValue = (text, re) => { const m = text.match(re); return m ? Number(m[1]) : NaN; };

// Sends batches (one deep-schema request in four) round-robin over `replicas()` until some replica of
// `watch()` (default: those) logs a rollback. Calls onBatch(sent) after each batch. Returns { sent, deep, gw
// (the decider: the earliest decision line), line, event, t }.
async function trafficUntilRollback(replicas, { tag, onBatch = async () => {}, watch = replicas }) {
  let sent = 0, deep = 0;
  for (;;) {
    assert.ok(sent < MAX_REQUESTS, `no rollback after ${sent} requests`);
    const batch = [];
    const rs = replicas();
    for (let i = 0; i < 48; i++, sent++) {
      const isDeep = sent % 4 === 0;
      deep += isDeep;
      const user = `${tag}-${sent}`;
      // Spread both kinds over the replicas (sent % n alone would send every deep request to one of two).
      batch.push(send(rs[(sent + Math.floor(sent / 4)) % rs.length], isDeep ? deepBody(user) : flatBody(user)));
    }
    assertServed(await Promise.all(batch), `${tag} traffic`);
    let first = null;
    for (const gw of new Set([...rs, ...watch()])) {
      const line = gw.proc.lines.findIndex((l) => l.json?.event === 'rollback' && l.json.by === 'trigger');
      if (line >= 0 && (!first || gw.proc.lines[line].t < first.t))
        first = { sent, deep, gw, line, event: gw.proc.lines[line].json, t: gw.proc.lines[line].t };
    }
    if (first) return first;
    await onBatch(sent);
  }
}

before(async () => {
  assert.ok(redisBin && redisCli, 'redis-server and redis-cli must be installed (tools/install-deps.sh)');
  assert.ok(alertmanagerBin, 'prometheus-alertmanager must be installed (tools/install-deps.sh)');
  dir = tmpDir();
  redisPort = await closedPort();
  const amPort = await closedPort();
  amUrl = `http://127.0.0.1:${amPort}`;
  const amCfg = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(amCfg, 'route:\n  receiver: "null"\n  group_wait: 0s\nreceivers:\n  - name: "null"\n');
  am = spawn(alertmanagerBin, [`--config.file=${amCfg}`, `--storage.path=${path.join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=', '--log.level=warn'], { stdio: 'ignore' });
  children.push(am);
  for (const replica of ['r1', 'r2', 'r3']) {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        let firing = false;
        try { firing = JSON.parse(body).some((a) => !a.endsAt); } catch { /* not an alert list */ }
        const post = { replica, firing, forwarded: false, t: Date.now() };
        alertPosts.push(post);
        if (firing && killOnAlert) {
          const kill = killOnAlert;
          killOnAlert = null;
          kill(replica);
          req.socket.destroy();  // this alert never reaches Alertmanager
          return;
        }
        try {
          const r = await fetch(amUrl + req.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await r.text();
          post.forwarded = r.status === 200;
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(text);
        } catch {
          res.writeHead(502);
          res.end();
        }
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxies[replica] = { server, url: `http://127.0.0.1:${server.address().port}` };
  }
  redis = startRedis();
  await waitFor(async () => {
    try { return (await fetch(`${amUrl}/-/ready`)).status === 200; } catch { return false; }
  }, { timeoutMs: 20_000, what: 'alertmanager ready' });
  await redisUp();

  const profile = path.join(dir, 'canary-deep-slip.yaml');
  fs.writeFileSync(profile, 'slippage:\n  - kind: schema_violation\n    p: 0.6\n    when: {min_schema_depth: 3}\n');
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 8 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', profile, seed: 3, ...timing });
});

after(async () => {
  killChildren();
  for (const { server } of Object.values(proxies)) {
    server.closeAllConnections();
    server.close();
  }
  await stopAll();
});

test('three replicas judge and roll back as one through Redis, and survive store faults', { timeout: 120_000 }, withLogs(async () => {
  // 1. The reference: one replica, all the traffic, no fleet. The test's deep-slice sample at the decision.
  const soloDir = path.join(dir, 'solo');
  fs.mkdirSync(soloDir);
  const solo = await startGateway(gatewayConfig({ fleet: false, stateDir: soloDir }), { env });
  const soloRun = await trafficUntilRollback(() => [solo], { tag: 'solo' });
  const soloN = soloRun.event.numbers.canary_n;
  console.log(`# one replica: rollback after ${soloRun.sent} requests (${soloRun.deep} deep), test sample canary_n=${soloN}`);
  await solo.stop();

  // 2. Three replicas, each with its own state directory.
  const dirs = ['r1', 'r2', 'r3'].map((id) => { const d = path.join(dir, id); fs.mkdirSync(d); return d; });
  const replicas = [];
  const fleetStart = Date.now();
  for (let i = 0; i < 3; i++) replicas.push(await startReplica(`r${i + 1}`, dirs[i]));
  await waitFor(async () => metricValue(await adminGet(replicas[0], '/metrics'), /^slipway_fleet_replicas (\d+)/m) === 3,
    { timeoutMs: 5000, what: 'three replicas in the heartbeat set' });

  // Sticky assignment without shared state: 150 users, each sent to all three replicas, get one variant each.
  const mixed = { canary: 0, baseline: 0 };
  for (let u = 0; u < 150; u++) {
    const vs = await Promise.all(replicas.map((gw) => send(gw, flatBody(`sticky-${u}`))));
    assert.equal(new Set(vs.map((v) => v.variant)).size, 1, `user sticky-${u}: ${vs.map((v) => v.variant)}`);
    mixed[vs[0].variant]++;
  }
  assert.ok(mixed.canary > 30 && mixed.baseline > 30, JSON.stringify(mixed));

  // 3. Traffic spread over the replicas until the fleet decides. r3 is SIGKILLed part-way (before any slice
  // has its minimum sample) and restarted a little later; then the replica that wins the latch is SIGKILLed
  // mid-decision: its latch write has reached the store (it won), its alert is on its way (the proxy drops it).
  let live = [...replicas];
  let killedAt = 0, backAt = 0, victim = null, victimKilledT = 0;
  killOnAlert = (id) => {
    victim = replicas.find((g) => g.id === id && !g.killed);
    victim.killed = true;
    victim.proc.child.kill('SIGKILL');
    victimKilledT = Date.now();
    live = live.filter((g) => g !== victim);
  };
  const run = await trafficUntilRollback(() => live, {
    tag: 'fleet',
    watch: () => replicas,
    onBatch: async (sent) => {
      if (!killedAt && sent >= 240) {  // before any slice can have its minimum sample (60 per variant)
        killedAt = sent;
        replicas[2].killed = true;
        replicas[2].proc.child.kill('SIGKILL');
        await replicas[2].proc.exitPromise;
        live = live.filter((g) => g !== replicas[2]);
      } else if (killedAt && !backAt && sent >= 480) {
        backAt = sent;
        replicas[2] = await startReplica('r3', dirs[2]);
        live.push(replicas[2]);
      }
    },
  });
  const n = run.event.numbers;
  console.log(`# fleet: rollback by ${run.gw.id} after ${run.sent} requests (${run.deep} deep, r3 killed after ${killedAt}, back after ${backAt}), test sample canary_n=${n.canary_n}`);
  assert.equal(run.event.trigger, 'slice_schema');
  assert.equal(run.event.slice, 'deep_schema');
  assert.ok(killedAt > 0 && backAt > 0, 'r3 was killed and restarted before the decision');
  // About the same sample as one replica with all the traffic (the sequential test is random: within 2x,
  // where replicas judging alone would each need the whole sample, 3x the traffic).
  assert.ok(n.canary_n >= 60 && n.canary_n <= 2 * soloN + 60, `fleet canary_n ${n.canary_n} vs one replica ${soloN}`);
  // ... which no replica saw by itself: the decider's own deep-slice canary requests are a share of it.
  const own = run.gw.proc.events(0).filter((e) => e.event === 'request' && e.variant === 'canary' && (e.slices ?? []).includes('deep_schema')).length;
  assert.ok(own < n.canary_n, `decider ${run.gw.id} saw ${own} deep canary requests itself, the test had ${n.canary_n}`);

  // The latch's winner is dead (killed as its alert left). Its latch write reached the store first.
  await waitFor(async () => victim !== null, { timeoutMs: 5000, what: 'the latch winner sends its alert (and is SIGKILLed)' });
  await victim.proc.exitPromise;
  const stateKey = `${PREFIX}:state:m:r1`;
  assert.equal(cli('HGET', stateKey, 'latched'), '1');
  assert.equal(cli('HGET', stateKey, 'winner'), victim.id, 'the killed replica had won the latch');
  console.log(`# mid-decision kill: ${victim.id} (the decider: ${run.gw === victim}) won the latch and was SIGKILLed ${victimKilledT - run.t} ms after the decision's log line, its alert dropped`);

  // Clients of the survivors keep being served while the fleet works out who pages.
  let clientsStop = false;
  const clientsUntil = Date.now() + 15_000;  // bounded even when an assertion below fails
  const survivorResults = [];
  const clients = (async () => {
    for (let k = 0; !clientsStop && Date.now() < clientsUntil; k++) {
      const batch = [];
      for (let i = 0; i < 8; i++) batch.push(send(live[(k * 8 + i) % live.length], flatBody(`survivor-${k}-${i}`)));
      survivorResults.push(...await Promise.all(batch));
    }
  })();

  // Every live replica at weight 0 within one second of the decision (log time of the decision -> of the adoption).
  for (const gw of live) {
    let e = gw === run.gw ? run.event : null;
    let t = run.t;
    if (!e) {
      const ev = await gw.proc.waitForLine((l) => l.json?.event === 'rollback', { timeoutMs: 3000, what: 'fleet rollback' });
      e = ev.json;
      t = ev.t;
    }
    assert.equal(e.weight, 0);
    assert.ok(t - run.t < 1000, `${gw.id} at weight 0 ${t - run.t} ms after the decision`);
    const st = await modelState(gw);
    assert.equal(st.rollout.latched, true);
    assert.equal(st.effective_weight, 0);
    assert.equal(st.rollout.reason.trigger, 'slice_schema');
    console.log(`# ${gw.id}: weight 0 ${t - run.t} ms after the decision as the test read the logs (${Date.parse(e.ts) - Date.parse(run.event.ts)} ms by the log timestamps)`);
  }

  // The winner never alerted: a survivor claims the alert after the grace period (2 s here) and sends it.
  await waitFor(async () => senders().length > 0, { timeoutMs: 8000, intervalMs: 50, what: 'an alert from a surviving replica' });
  const claim = alertPosts.find((p) => p.firing && p.forwarded);
  const claimer = live.find((g) => g.id === claim.replica);
  assert.ok(claimer, `the alert came from ${claim.replica}, a survivor`);
  await claimer.proc.waitForEvent('fleet_alert_claimed', { timeoutMs: 2000 });
  assert.equal(cli('HGET', stateKey, 'alerted'), claimer.id);
  console.log(`# alert claimed by ${claimer.id} ${claim.t - run.t} ms after the decision`);
  clientsStop = true;
  await clients;
  assertServed(survivorResults, 'clients of the survivors');
  assert.ok(survivorResults.length > 0);
  console.log(`# clients of the survivors: ${survivorResults.length} requests, ${survivorResults.filter((r) => r.status !== 200).length} failed`);
  const afterDecision = await Promise.all(Array.from({ length: 60 }, (_, i) => send(live[i % live.length], flatBody(`after-${i}`))));
  assertServed(afterDecision, 'after the decision');
  assert.deepEqual([...new Set(afterDecision.map((r) => r.variant))], ['baseline']);

  // The killed winner had its latch on disk before anything was reported. Restarted without it (the state
  // file removed), it comes back rolled back from the store alone, and does not page again.
  const vi = replicas.indexOf(victim);
  const stateFiles = fs.readdirSync(victim.stateDir).map((f) => path.join(victim.stateDir, f)).filter((f) => fs.statSync(f).isFile());
  assert.ok(stateFiles.some((f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')).latched === true; } catch { return false; } }),
    `the killed winner's state file holds the latch: ${stateFiles}`);
  for (const f of stateFiles) fs.rmSync(f);
  replicas[vi] = await startReplica(victim.id, victim.stateDir);
  live = [...replicas];
  const stv = await modelState(replicas[vi]);
  assert.equal(stv.rollout.latched, true, JSON.stringify(stv));
  assert.equal(stv.effective_weight, 0);
  const vfirst = await Promise.all(Array.from({ length: 30 }, (_, i) => send(replicas[vi], flatBody(`back-${i}`))));
  assertServed(vfirst, `${victim.id} restarted`);
  assert.deepEqual([...new Set(vfirst.map((r) => r.variant))], ['baseline']);

  // One alert in Alertmanager for the fleet's decision, sent by one replica only (the claimer).
  await sleep(2500);  // a resend period: a second sender would show by now
  const alerts = (await activeAlerts()).filter((a) => a.labels.slice === 'deep_schema');
  console.log(`# firing alert posts per replica (forwarded / dropped): ${replicas.map((g) => `${g.id} ${alertPosts.filter((p) => p.firing && p.replica === g.id && p.forwarded).length}/${alertPosts.filter((p) => p.firing && p.replica === g.id && !p.forwarded).length}`).join(', ')}`);
  assert.equal(alerts.length, 1, JSON.stringify(alerts.map((a) => a.labels)));
  assert.deepEqual(senders(), [claimer.id]);
  assert.equal(cli('HGET', stateKey, 'latched'), '1');

  // 4. The store slowed: DEBUG SLEEP 2 while clients keep sending. No request fails or waits on the store:
  // the client p99 during the sleep is compared with the same load just before it.
  async function load(ms, tag) {
    const out = [];
    const until = Date.now() + ms;
    let k = 0;
    while (Date.now() < until) {
      const batch = [];
      for (let i = 0; i < 12; i++, k++) batch.push(send(replicas[k % 3], flatBody(`${tag}-${k}`)));
      out.push(...await Promise.all(batch));
    }
    return out;
  }
  const p99of = (rs) => { const l = rs.map((r) => r.ms).sort((a, b) => a - b); return l[Math.floor(l.length * 0.99)]; };
  const before = await load(1700, 'calm');
  const slow = spawn(redisCli, ['-h', '127.0.0.1', '-p', String(redisPort), 'DEBUG', 'SLEEP', '2'], { stdio: 'ignore' });
  children.push(slow);
  await sleep(100);
  const during = await load(1700, 'slow');
  const lat = during.map((r) => r.ms).sort((a, b) => a - b);
  const p99 = p99of(during);
  console.log(`# during DEBUG SLEEP 2: ${during.length} requests, p50 ${lat[Math.floor(lat.length / 2)].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${lat.at(-1).toFixed(1)} ms; just before: ${before.length} requests, p99 ${p99of(before).toFixed(1)} ms`);
  assert.ok(during.every((r) => r.status === 200 && r.variant === 'baseline'));
  // A request waiting on the store would wait the whole 2 s sleep (or the 200 ms timeout): p99 stays far below.
  assert.ok(p99 < Math.max(250, 2 * p99of(before)), `client p99 ${p99} ms while the store sleeps 2 s`);
  assert.ok(lat.at(-1) < 1000, `slowest request ${lat.at(-1)} ms during the sleep`);
  await new Promise((resolve) => (slow.exitCode !== null ? resolve() : slow.on('exit', resolve)));
  for (const gw of replicas) assert.equal((await modelState(gw)).rollout.latched, true);

  // What the store did for the fleet so far (docs/scaling.md takes its per-replica figures from these lines).
  const stats = Object.fromEntries(cli('INFO', 'commandstats').split('\n').filter((l) => l.startsWith('cmdstat_'))
    .map((l) => { const [name, rest] = l.trim().split(':'); return [name.slice(8), Object.fromEntries(rest.split(',').map((kv) => kv.split('=')))]; }));
  const fleetSeconds = (Date.now() - fleetStart) / 1000;
  const keys = cli('--scan', '--pattern', `${PREFIX}:w:m:r1:*`).split('\n').filter(Boolean);
  const fieldsPerBucket = keys.slice(0, 50).map((k) => Number(cli('HLEN', k)));
  const avgFields = fieldsPerBucket.reduce((a, b) => a + b, 0) / Math.max(1, fieldsPerBucket.length);
  for (const cmd of ['hincrby', 'expire', 'hgetall', 'hmget', 'eval', 'zadd', 'publish'])
    if (stats[cmd]) console.log(`# redis ${cmd}: ${stats[cmd].calls} calls in ${fleetSeconds.toFixed(1)} s of fleet, ${stats[cmd].usec_per_call} us/call`);
  console.log(`# redis: ${keys.length} bucket keys of model m, ${avgFields.toFixed(1)} fields per bucket on average (max ${Math.max(...fieldsPerBucket)})`);

  // 5. The store killed: requests go on, each replica reports the loss (metric, state/readyz detail), the latch
  // stays; restarted empty, the store gets the latch back from the replicas.
  redis.kill('SIGKILL');
  await new Promise((resolve) => redis.on('exit', resolve));
  for (const gw of replicas) {
    await waitFor(async () => metricValue(await adminGet(gw, '/metrics'), /^slipway_fleet_store_up (\d+)/m) === 0, { timeoutMs: 5000, what: `${gw.id} reports the store down` });
    const s = await adminGet(gw, '/admin/v1/state');
    assert.equal(s.fleet.store_up, false);
    assert.equal(s.fleet.judging_on, 'local');
    assert.ok(s.fleet.error, 'the error is shown');
    // /readyz on the admin listener says so too, and the replica stays ready (it serves on local judgement).
    const ready = await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`);
    const body = await ready.json();
    assert.equal(ready.status, 200);
    assert.equal(body.fleet.store_up, false);
  }
  assert.ok(replicas[0].proc.events().some((e) => e.event === 'fleet_store_lost'));
  const outage = await Promise.all(Array.from({ length: 90 }, (_, i) => send(replicas[i % 3], flatBody(`outage-${i}`))));
  assert.ok(outage.every((r) => r.status === 200 && r.variant === 'baseline'));
  redis = startRedis();
  await redisUp();
  await waitFor(async () => cli('HGET', `${PREFIX}:state:m:r1`, 'latched') === '1', { timeoutMs: 5000, what: 'the latch written back to the restarted store' });
  for (const gw of replicas)
    await waitFor(async () => metricValue(await adminGet(gw, '/metrics'), /^slipway_fleet_store_up (\d+)/m) === 1, { timeoutMs: 5000, what: `${gw.id} sees the store again` });
  for (const gw of replicas) assert.equal((await modelState(gw)).rollout.latched, true);
  // The written-back latch has no alert mark: the replica holding the alert marks it again, nobody else pages.
  await waitFor(async () => cli('HGET', `${PREFIX}:state:m:r1`, 'alerted') === claimer.id, { timeoutMs: 5000, what: 'the alert mark written back' });
  assert.deepEqual(senders(), [claimer.id]);

  // 6. Resume through one replica's admin API reaches all three within a second; the alert is resolved once.
  const t0 = Date.now();
  const resumed = await adminPost(replicas[1], '/admin/v1/models/m/resume', { reason: 'fleet test: int4 build fixed' });
  assert.equal(resumed.status, 200, JSON.stringify(resumed.json));
  for (const gw of replicas)
    await waitFor(async () => (await modelState(gw)).rollout.latched === false, { timeoutMs: 1000, intervalMs: 20, what: `${gw.id} resumed` });
  console.log(`# resume through r2 reached every replica within ${Date.now() - t0} ms`);
  await waitFor(async () => (await activeAlerts()).filter((a) => a.labels.slice === 'deep_schema').length === 0, { timeoutMs: 15_000, what: 'alert resolved' });
}));
