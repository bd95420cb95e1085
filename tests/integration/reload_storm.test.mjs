// Reload under load (issue 8): the config file is rewritten 100 times while clients keep sending requests
// (keep-alive and new connections, streaming and not). Weights change, endpoints are added and removed, and
// every 10th file is bad. A user would check:
//   - no request fails (status 200; a stream ends with [DONE] and carries no error event);
//   - a bad file is rejected (config_rejected, slipway_config_reloads_total{result="rejected"}) and the old
//     config keeps serving;
//   - no request is served by an endpoint that was removed before the request began. "Before" is exact here:
//     a request records how many gateway log lines the test had read when it was sent, so the config_reloaded
//     lines before it are known. Its x-request-id is passed upstream, and the simulator that served it logs
//     it (--log-requests), as does the gateway's access line ("endpoint"); both must name an endpoint of a
//     config the request could have used: the one in force when it began, or a later one.
// Half the good files are picked up by the file watch, half by SIGHUP (the file is written, then the signal
// sent; the watch then sees an unchanged text and does nothing).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startSim, startGateway, stopAll, withLogs, chat, sleep, toYaml, getJson, waitFor,
} from '../lib/harness.mjs';

const WRITES = 100;
const SERVED = 'storm-model';
let sims = [];

before(async () => {
  // Streams of 8 tokens 4 ms apart: long enough that reloads land while streams are open.
  sims = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startSim({
    model: SERVED, name, ttftMs: 2, tokenMs: 4, outputTokens: 8, args: ['--log-requests'],
  })));
});

after(async () => { await stopAll(); });

// A small deterministic generator, so that a failure can be replayed with the same sequence of files.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A good config: baseline on 1-2 simulators, a canary (or none) on 1-2 of the others, a random weight. */
function goodConfig(rand) {
  const order = [...sims].sort(() => rand() - 0.5);
  const nBase = 1 + Math.floor(rand() * 2);
  const base = order.slice(0, nBase);
  const nCanary = Math.floor(rand() * 3);   // 0: no canary
  const canary = order.slice(nBase, nBase + nCanary);
  const model = { name: 'm', baseline: { served_model: SERVED, endpoints: base.map((s) => s.endpoint) } };
  if (canary.length) {
    model.canary = { served_model: SERVED, weight: Math.round(rand() * 1000) / 10, endpoints: canary.map((s) => s.endpoint) };
  }
  return {
    listen: { address: '127.0.0.1', port: 0 },
    threads: 2,
    admin: { address: '127.0.0.1', port: 0 },
    health: { check_interval: '200ms' },
    models: [model],
  };
}

/** Bad files of several kinds, each one a user could write. */
function badConfig(k, last) {
  const kinds = [
    () => toYaml({ ...last, models: [{ ...last.models[0], canary: { served_model: SERVED, weight: 150, endpoints: [sims[0].endpoint] } }] }),
    () => 'models: [ {name: m, baseline: \n  : : :\n',
    () => toYaml({ ...last, models: [{ ...last.models[0], baseline: { served_model: SERVED, endpoints: ['not a host:port:x'] } }] }),
    () => toYaml({ ...last, modles: last.models, models: undefined }),
    () => '',
  ];
  return kinds[k % kinds.length]();
}

const endpointsOf = (cfg) => new Set([
  ...cfg.models[0].baseline.endpoints, ...(cfg.models[0].canary?.endpoints ?? []),
]);

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request; never throws. Returns { ok, why }. */
function ask(gw, { id, stream, fresh }) {
  const body = JSON.stringify(chat('m', 'hi', { user: id, max_tokens: 8, ...(stream ? { stream: true } : {}) }));
  return new Promise((resolve) => {
    const req = http.request(`${gw.base}/chat/completions`, {
      method: 'POST', agent: fresh ? false : keepAlive,
      headers: { 'content-type': 'application/json', 'x-request-id': id, ...(fresh ? { connection: 'close' } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve({ ok: false, why: `${res.statusCode} ${text.slice(0, 200)}` });
        if (stream) {
          const events = text.split(/\n\n/).filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
          if (events.at(-1) !== '[DONE]') return resolve({ ok: false, why: `stream without [DONE]: ${text.slice(-200)}` });
          if (events.some((e) => e.startsWith('{"error"'))) return resolve({ ok: false, why: `error event: ${text.slice(0, 300)}` });
          return resolve({ ok: true });
        }
        try {
          const j = JSON.parse(text);
          resolve(j.choices?.length ? { ok: true } : { ok: false, why: `no choices: ${text.slice(0, 200)}` });
        } catch { resolve({ ok: false, why: `not JSON: ${text.slice(0, 200)}` }); }
      });
      res.on('error', (e) => resolve({ ok: false, why: `response: ${e.message}` }));
    });
    req.on('error', (e) => resolve({ ok: false, why: `request: ${e.message}` }));
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

test('100 config rewrites under steady load: no failed request, bad files rejected, no request on a removed endpoint', { timeout: 90_000 }, withLogs(async () => {
  const rand = rng(Number(process.env.RELOAD_STORM_SEED ?? 8));
  let cfg = goodConfig(rand);
  const gw = await startGateway(cfg);
  const adminEv = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  const adminUrl = `http://127.0.0.1:${adminEv.port}`;

  // generation -> the endpoints of its config; generation 1 is the file the gateway started with.
  const configs = new Map([[1, endpointsOf(cfg)]]);

  // ---- load: 12 clients until the writes are done
  const requests = [];   // { id, stream, fresh, fromLine, toLine, ok, why }
  let stop = false;
  let seq = 0;
  const client = async (kind) => {
    while (!stop) {
      const id = `storm-${seq++}`;
      const r = { id, ...kind, fromLine: gw.proc.lines.length };
      const res = await ask(gw, { id, ...kind });
      Object.assign(r, res, { toLine: gw.proc.lines.length });
      requests.push(r);
    }
  };
  const kinds = [
    ...Array(5).fill({ stream: false, fresh: false }),
    ...Array(4).fill({ stream: true, fresh: false }),
    ...Array(2).fill({ stream: false, fresh: true }),
    { stream: true, fresh: true },
  ];
  const clients = kinds.map((k) => client(k));

  // ---- the writes
  const t0 = Date.now();
  let rejected = 0;
  let applied = 0;
  let bySighup = 0;
  let removals = 0;
  try {
    for (let i = 1; i <= WRITES; i++) {
      await sleep(60 + Math.floor(rand() * 80));
      const mark = gw.proc.lines.length;
      if (i % 10 === 0) {
        gw.writeConfig(badConfig(i / 10, cfg));
        const ev = await gw.waitForReject({ from: mark, timeoutMs: 5000 });
        assert.equal(Number(ev.kept_generation), applied + 1, 'a rejected file names the generation that keeps serving');
        await sleep(150);   // past the debounce: the next write is a change of its own
        rejected++;
        continue;
      }
      const next = goodConfig(rand);
      const before = endpointsOf(cfg);
      removals += [...before].filter((e) => !endpointsOf(next).has(e)).length;
      const viaSighup = i % 2 === 0;
      gw.writeConfig(next);
      if (viaSighup) { gw.proc.child.kill('SIGHUP'); bySighup++; }
      await gw.proc.waitForEvent('config_reloaded', {
        from: mark, timeoutMs: 5000, pred: (j) => j.reason === (viaSighup ? 'sighup' : 'file_changed'),
      });
      // On a loaded machine the watch (100 ms debounce) can beat the signal: then the file is applied twice,
      // the second time by the forced SIGHUP reload. Both apply this file.
      for (const ev of gw.proc.events(mark).filter((j) => j.event === 'config_reloaded')) {
        applied++;
        assert.equal(Number(ev.generation), applied + 1, `write ${i}: generation`);
        configs.set(Number(ev.generation), endpointsOf(next));
      }
      cfg = next;
    }
    await sleep(300);
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  const wallMs = Date.now() - t0;
  // The access line and the simulator's line are written just after the last byte: let the last ones land.
  const ids = (lines, key) => new Set(lines.map((l) => l.json?.[key]).filter(Boolean));
  await waitFor(() => {
    const gwIds = ids(gw.proc.lines, 'request_id');
    const simIds = new Set(sims.flatMap((s) => [...ids(s.proc.lines, 'x_request_id')]));
    return requests.every((r) => gwIds.has(r.id) && simIds.has(r.id));
  }, { timeoutMs: 5000, what: 'an access line and a simulator line for every request' }).catch(() => {});

  // ---- no failed request
  const failed = requests.filter((r) => !r.ok);
  assert.deepEqual(failed.slice(0, 5).map((r) => `${r.id} (${r.stream ? 'stream' : 'plain'}${r.fresh ? ', new connection' : ''}): ${r.why}`), [],
    `${failed.length} of ${requests.length} requests failed`);

  // ---- the reloads the gateway logged: exactly the ones we caused, none extra
  const lines = gw.proc.lines;
  const genAtLine = [];   // generation in force after line i was read
  let gen = 1;
  for (const l of lines) {
    if (l.json?.event === 'config_reloaded') gen = Number(l.json.generation);
    genAtLine.push(gen);
  }
  const genBefore = (lineCount) => (lineCount === 0 ? 1 : genAtLine[lineCount - 1]);
  assert.equal(lines.filter((l) => l.json?.event === 'config_reloaded').length, applied, 'config_reloaded lines');
  assert.ok(applied >= WRITES - WRITES / 10, `${applied} reloads applied for ${WRITES - WRITES / 10} good files`);
  assert.equal(lines.filter((l) => l.json?.event === 'config_rejected').length, WRITES / 10, 'config_rejected lines');

  // ---- who served what: the gateway's access lines and the simulators' own logs
  const byId = new Map(requests.map((r) => [r.id, r]));
  const allowed = (r) => {
    const set = new Set();
    for (let g = genBefore(r.fromLine); g <= genBefore(r.toLine); g++) for (const e of configs.get(g)) set.add(e);
    return set;
  };
  const gatewaySaw = new Map();
  for (const l of lines) if (l.json?.request_id && l.json.path === '/v1/chat/completions') gatewaySaw.set(l.json.request_id, l.json.endpoint);
  const wrong = [];
  let simServed = 0;
  for (const sim of sims) {
    for (const l of sim.proc.lines) {
      const id = l.json?.x_request_id;
      if (l.json?.event !== 'request' || !id?.startsWith('storm-')) continue;
      const r = byId.get(id);
      if (!r) continue;   // a request still in flight when the clients stopped is not in `requests`
      simServed++;
      if (!allowed(r).has(sim.endpoint)) {
        wrong.push(`${id} began under generation ${genBefore(r.fromLine)} (endpoints ${[...configs.get(genBefore(r.fromLine))]}) but ${sim.name} (${sim.endpoint}) served it`);
      }
    }
  }
  for (const r of requests) {
    const ep = gatewaySaw.get(r.id);
    assert.ok(ep, `no access line for ${r.id}`);
    if (!allowed(r).has(ep)) wrong.push(`${r.id}: the access line names ${ep}, not in generation ${genBefore(r.fromLine)} or later`);
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} requests served by an endpoint removed before they began`);
  assert.equal(simServed, requests.length, 'every request was served by exactly one simulator (no retries, no duplicates)');

  // ---- the counters a dashboard shows
  const metrics = (await getJson(`${adminUrl}/metrics`)).text;
  const reloads = (result) => Number(metrics.match(new RegExp(`^slipway_config_reloads_total\\{result="${result}"\\} (\\S+)$`, 'm'))?.[1]);
  assert.equal(reloads('applied'), applied, 'slipway_config_reloads_total{result="applied"}');
  assert.equal(reloads('rejected'), rejected, 'slipway_config_reloads_total{result="rejected"}');
  assert.ok(gw.proc.alive, 'the gateway is still up');

  const streams = requests.filter((r) => r.stream).length;
  process.stdout.write(`# reload storm: ${WRITES} writes (${applied} applied, ${bySighup} of them by SIGHUP; ${rejected} rejected), `
    + `${removals} endpoint removals, ${requests.length} requests (${streams} streams, `
    + `${requests.filter((r) => r.fresh).length} on new connections), ${failed.length} failed, ${wrong.length} on removed endpoints, ${wallMs} ms\n`);
  keepAlive.destroy();
  await gw.stop();
}));
