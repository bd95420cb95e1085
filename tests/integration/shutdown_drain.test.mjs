// Graceful shutdown under load (issue 8; docs/runbook.md "Stopping and draining").
// SIGTERM while 16 requests are in flight (long streams and slow non-streaming answers, on keep-alive and
// one-shot connections): every one of them completes normally (200, a finish_reason, a stream ends with
// [DONE]), a new connection is refused as soon as the listener closes (while those requests are still
// running), a request on a keep-alive connection that was idle is still answered, keep-alive connections are
// closed by the gateway after their answer, and the process exits 0 once the last request is done, well
// within --drain-timeout. With a drain timeout shorter than a stream, the process does not wait longer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, chat, sleep, waitFor,
} from '../lib/harness.mjs';

let sim;

before(async () => {
  sim = await startSim({ model: 'm-fp16', name: 'backend', ttftMs: 0, tokenMs: 1, outputTokens: 4 });
});

after(() => stopAll());

/**
 * One request with the simulator told to take `tokens` × `tokenMs` ms. Never throws.
 * Returns { ok, why, status, tokens, finish, endedAt, socketClosedAt() }.
 */
function ask(gw, { stream, tokens, tokenMs, agent }) {
  let closedAt;
  const body = JSON.stringify(chat('m', 'hi', { max_tokens: tokens, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) }));
  return new Promise((resolve) => {
    const req = http.request(`${gw.base}/chat/completions`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'x-sim-token-ms': String(tokenMs), 'x-sim-output-tokens': String(tokens) },
    }, (res) => {
      res.socket.once('close', () => { closedAt = Date.now(); });
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        const out = { status: res.statusCode, connection: res.headers.connection, endedAt: Date.now(), socketClosedAt: () => closedAt };
        if (res.statusCode !== 200) return resolve({ ...out, ok: false, why: `${res.statusCode} ${text.slice(0, 200)}` });
        if (stream) {
          const events = text.split(/\n\n/).filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
          if (events.at(-1) !== '[DONE]') return resolve({ ...out, ok: false, why: `stream without [DONE]: ${text.slice(-200)}` });
          const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
          const finish = chunks.flatMap((j) => j.choices ?? []).map((c) => c.finish_reason).find(Boolean);
          return resolve({ ...out, ok: true, tokens: chunks.find((j) => j.usage)?.usage.completion_tokens, finish });
        }
        const j = JSON.parse(text);
        resolve({ ...out, ok: true, tokens: j.usage?.completion_tokens, finish: j.choices?.[0]?.finish_reason });
      });
      res.on('error', (e) => resolve({ ok: false, why: `response: ${e.message}` }));
    });
    req.on('error', (e) => resolve({ ok: false, why: `request: ${e.message}` }));
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** 'refused', 'accepted' (and closed again at once by us) or another error code. */
function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve('accepted'); });
    s.once('error', (e) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : e.code));
  });
}

test('SIGTERM with 16 requests in flight: all complete, new connections refused, exit 0 before the drain timeout', { timeout: 60_000 }, withLogs(async () => {
  const DRAIN_S = 15;
  const gw = await startGateway(modelConfig({ name: 'm', baseline: sim }), { args: ['--drain-timeout', String(DRAIN_S)] });
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
  // An idle keep-alive connection, opened before the SIGTERM, used during the drain.
  const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warm = await ask(gw, { stream: false, tokens: 2, tokenMs: 1, agent: idleAgent });
  assert.equal(warm.status, 200);
  assert.notEqual(warm.connection, 'close', 'a keep-alive answer before the drain does not close');
  // 8 long streams (1.6-2.6 s), 4 slow non-streaming answers (1.5 s), 2 of each on keep-alive connections.
  const specs = [
    ...Array.from({ length: 8 }, (_, i) => ({ stream: true, tokens: 40 + 5 * i, tokenMs: 40, agent: false })),
    ...Array.from({ length: 4 }, () => ({ stream: false, tokens: 30, tokenMs: 50, agent: false })),
    ...Array.from({ length: 2 }, () => ({ stream: true, tokens: 30, tokenMs: 50, agent: keepAlive })),
    ...Array.from({ length: 2 }, () => ({ stream: false, tokens: 30, tokenMs: 50, agent: keepAlive })),
  ];
  const pending = specs.map((s) => ask(gw, s));
  await waitFor(async () => (await sim.stats()).active_requests >= specs.length, { timeoutMs: 5000, what: `${specs.length} requests at the backend` });
  assert.equal(await tryConnect(gw.port), 'accepted', 'the listener accepts before SIGTERM');

  const mark = gw.proc.lines.length;
  const tTerm = Date.now();
  gw.proc.child.kill('SIGTERM');
  const draining = await gw.proc.waitForEvent('draining', { from: mark, timeoutMs: 5000 });
  assert.equal(Number(draining.in_flight), specs.length, 'the draining line counts the requests in flight');

  // The listener closes at once, while the requests are still running.
  await waitFor(async () => (await tryConnect(gw.port)) === 'refused', { timeoutMs: 1000, intervalMs: 20, what: 'a new connection refused' });
  const tRefused = Date.now();
  assert.ok((await sim.stats()).active_requests > 0, 'the requests were still running when connections were refused');
  for (let i = 0; i < 5; i++) assert.equal(await tryConnect(gw.port), 'refused', 'a new connection after the listener closed');

  // A request on the connection that was idle at SIGTERM is still served (the process is draining, not gone),
  // and the gateway closes that connection after answering.
  const late = await ask(gw, { stream: false, tokens: 2, tokenMs: 1, agent: idleAgent });
  assert.equal(late.ok, true, `a request on an idle keep-alive connection during the drain: ${late.why}`);
  assert.equal(late.connection, 'close', 'the answer during the drain says Connection: close');
  await waitFor(() => late.socketClosedAt() !== undefined, { timeoutMs: 1000, what: 'the gateway closing the connection after its answer during the drain' });

  const results = await Promise.all(pending);
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed.map((r) => r.why), [], `${failed.length} of ${specs.length} requests in flight at SIGTERM failed`);
  for (const [i, r] of results.entries()) {
    assert.ok(['stop', 'length'].includes(r.finish), `request ${i}: finish_reason ${r.finish}`);
    // An answer whose head went out during the drain tells the client not to reuse the connection (one-shot
    // requests asked for that themselves). A keep-alive stream's head went out before the SIGTERM: it cannot
    // say so, and the connection is closed after its last chunk instead (checked below).
    if (!(specs[i].stream && specs[i].agent === keepAlive)) {
      assert.equal(r.connection, 'close', `request ${i}: Connection header of an answer sent during the drain`);
    }
    assert.ok(r.tokens > 0 && r.tokens <= specs[i].tokens, `request ${i}: usage says ${r.tokens} tokens`);
  }
  const lastEnd = Math.max(...results.map((r) => r.endedAt));

  await gw.proc.exitPromise;
  const tExit = Date.now();
  // Keep-alive connections whose answer ended during the drain were closed by the gateway then, not at exit.
  for (const [i, r] of results.entries()) {
    if (specs[i].agent !== keepAlive) continue;
    assert.ok(r.socketClosedAt() !== undefined && r.socketClosedAt() < tExit - 200,
      `request ${i}: its keep-alive connection closed ${r.socketClosedAt() === undefined ? 'never' : `${tExit - r.socketClosedAt()} ms before exit`}`);
  }
  assert.equal(gw.proc.exitCode, 0, 'exit code after a drain');
  const stopped = gw.proc.events(mark).find((e) => e.event === 'stopped');
  assert.ok(stopped, 'a "stopped" line');
  assert.equal(Number(stopped.in_flight_abandoned), 0, 'requests abandoned');
  assert.ok(tExit - tTerm < DRAIN_S * 1000, `exit ${tExit - tTerm} ms after SIGTERM (drain timeout ${DRAIN_S} s)`);
  assert.ok(tExit >= lastEnd - 50, 'the process waited for the last request');
  assert.ok(tExit - lastEnd < 1500, `exit ${tExit - lastEnd} ms after the last request ended`);
  keepAlive.destroy();
  idleAgent.destroy();
  process.stdout.write(`# shutdown drain: ${results.length} in flight at SIGTERM, ${results.length - failed.length} completed, `
    + `listener refused connections ${tRefused - tTerm} ms after SIGTERM, last request done ${lastEnd - tTerm} ms, exit ${tExit - tTerm} ms\n`);
}));

test('a stream longer than --drain-timeout: the process exits at the timeout, not when the stream ends', { timeout: 30_000 }, withLogs(async () => {
  const gw = await startGateway(modelConfig({ name: 'm', baseline: sim }), { args: ['--drain-timeout', '1'] });
  const pending = ask(gw, { stream: true, tokens: 100, tokenMs: 60, agent: false });   // 6 s
  await waitFor(async () => (await sim.stats()).active_streams >= 1, { timeoutMs: 5000, what: 'the stream at the backend' });
  await sleep(200);
  const mark = gw.proc.lines.length;
  const tTerm = Date.now();
  gw.proc.child.kill('SIGTERM');
  await gw.proc.exitPromise;
  const took = Date.now() - tTerm;
  assert.equal(gw.proc.exitCode, 0, 'exit code after a drain that timed out');
  assert.ok(took >= 900 && took < 2500, `exit ${took} ms after SIGTERM with --drain-timeout 1`);
  const stopped = gw.proc.events(mark).find((e) => e.event === 'stopped');
  assert.equal(Number(stopped?.in_flight_abandoned), 1, 'the stream is reported abandoned');
  const r = await pending;
  assert.equal(r.ok, false, 'the abandoned stream did not end with [DONE]');
}));
