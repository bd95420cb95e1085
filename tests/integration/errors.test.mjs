// Failures and bad input: backends down, backend errors relayed, timeouts, client limits, unknown paths and
// models. Every error is OpenAI-shaped, and the gateway keeps serving afterwards.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, getJson, chat, closedPort, expectOpenAIError,
  readChatStream, waitFor,
} from '../lib/harness.mjs';

const MAX_BODY = 64 * 1024;
const MAX_DEPTH = 16;
const MAX_HEADER = 8 * 1024;

let sim, gw;

before(async () => {
  sim = await startSim({ model: 'm-fp16', name: 'baseline', ttftMs: 0, tokenMs: 1, outputTokens: 8 });
  gw = await startGateway(modelConfig({
    name: 'm', baseline: sim,
    extra: {
      limits: { max_body_bytes: MAX_BODY, max_json_depth: MAX_DEPTH, max_header_bytes: MAX_HEADER, read_timeout: '1500ms' },
      timeouts: { first_byte: '700ms', stream_idle: '700ms' },
      // Faults below must not eject the only endpoint: this file tests error relaying, not ejection.
      health: { check_interval: '200ms', eject_after_failures: 1000 },
    },
  }));
});

after(async () => { await stopAll(); });

const url = () => `${gw.base}/chat/completions`;

async function assertStillServes() {
  assert.ok(gw.proc.alive, 'the gateway exited');
  const r = await postJson(url(), chat('m', 'still alive?', { max_tokens: 3 }));
  assert.equal(r.status, 200, `a normal request after the error failed: ${r.status} ${r.text.slice(0, 200)}`);
}

test('a backend that is down gives a 502/503 OpenAI error, and /readyz says not ready', withLogs(async () => {
  const port = await closedPort();
  const down = await startGateway(modelConfig({ name: 'down', baseline: { model: 'x', endpoint: `127.0.0.1:${port}` } }), { waitReady: false });
  const t0 = performance.now();
  const r = await postJson(`${down.base}/chat/completions`, chat('down'), { headers: { 'x-request-id': 'down-req-1' } });
  expectOpenAIError(assert, r, { status: [502, 503] });
  assert.ok(performance.now() - t0 < 5000, 'the error took more than 5 s');
  assert.equal(r.headers.get('x-request-id'), 'down-req-1', 'an error carries the x-request-id too');
  // The failure is logged, with the request id in the line.
  await down.proc.waitForLine((l) => l.text.includes('down-req-1'), { timeoutMs: 2000, what: 'a log line with the request id down-req-1' });
  // Streaming request to a down backend: an error status (not a 200 with an empty stream).
  const s = await postJson(`${down.base}/chat/completions`, chat('down', 'hi', { stream: true }));
  expectOpenAIError(assert, s, { status: [502, 503] });
  await waitFor(async () => (await getJson(`${down.url}/readyz`)).status === 503, { timeoutMs: 3000, what: '/readyz = 503' });
  assert.equal((await getJson(`${down.url}/healthz`)).status, 200, '/healthz is liveness, 200 even when backends are down');
  assert.ok(down.proc.alive);
  await down.stop();
}));

test('a backend that goes away after startup gives 502/503, and service resumes when it returns', withLogs(async () => {
  const s2 = await startSim({ model: 'm2-fp16', name: 'flaky', ttftMs: 0, tokenMs: 0, outputTokens: 3 });
  const g2 = await startGateway(modelConfig({ name: 'm2', baseline: s2 }));
  assert.equal((await postJson(`${g2.base}/chat/completions`, chat('m2'))).status, 200);
  const port = s2.port;
  await s2.stop();
  const r = await postJson(`${g2.base}/chat/completions`, chat('m2'));
  expectOpenAIError(assert, r, { status: [502, 503] });
  await waitFor(async () => (await getJson(`${g2.url}/readyz`)).status === 503, { timeoutMs: 3000, what: '/readyz = 503 after the backend went down' });
  // Bring a simulator back on the same port: the gateway must use it again (ejection is temporary and
  // the active health check sees it; default eject_for is 10 s).
  await startSim({ model: 'm2-fp16', name: 'flaky-back', ttftMs: 0, tokenMs: 0, outputTokens: 3, port });
  await waitFor(async () => (await postJson(`${g2.base}/chat/completions`, chat('m2'))).status === 200,
    { timeoutMs: 15_000, intervalMs: 250, what: 'service to resume when the backend is back' });
  await waitFor(async () => (await getJson(`${g2.url}/readyz`)).status === 200, { timeoutMs: 3000, what: '/readyz = 200 again' });
  assert.ok(g2.proc.alive);
  await g2.stop();
}));

test('a backend error status and body are relayed unchanged (x-sim-fault: http_503, http_500)', withLogs(async () => {
  for (const [fault, status] of [['http_503', 503], ['http_500', 500]]) {
    const direct = await postJson(`${sim.url}/v1/chat/completions`, chat('m-fp16'), { headers: { 'x-sim-fault': fault, 'x-request-id': `direct-${fault}` } });
    assert.equal(direct.status, status, `the simulator itself answers ${fault} with ${direct.status}`);
    const r = await postJson(url(), chat('m'), { headers: { 'x-sim-fault': fault, 'x-request-id': `direct-${fault}` } });
    assert.equal(r.status, status, `relayed status for ${fault}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.deepEqual(r.json, direct.json, `the backend's error body was not relayed unchanged for ${fault}`);
  }
  await assertStillServes();
}));

test('a backend that stalls past timeouts.first_byte gives 504', withLogs(async () => {
  const t0 = performance.now();
  const r = await postJson(url(), chat('m'), { headers: { 'x-sim-fault': 'stall' } });
  const ms = performance.now() - t0;
  expectOpenAIError(assert, r, { status: 504 });
  assert.ok(ms >= 600 && ms < 4000, `504 after ${ms.toFixed(0)} ms with first_byte 700ms`);
  await assertStillServes();
}));

test('a stream paced under timeouts.stream_idle is not cut', withLogs(async () => {
  const r = await postJson(url(), chat('m', 'hi', { stream: true }));
  assert.equal(r.status, 200);
  assert.match(r.text, /data: \[DONE\]/);
}));

test('garbage from the backend and a reset mid-stream give an error, not a hang or a crash', withLogs(async () => {
  const g = await postJson(url(), chat('m'), { headers: { 'x-sim-fault': 'garbage' } });
  assert.ok([502, 503].includes(g.status), `garbage from the backend: ${g.status} ${g.text.slice(0, 200)}`);
  expectOpenAIError(assert, g);

  // Reset mid-stream: headers (200) were already sent; the stream must end (no [DONE]) instead of hanging,
  // or carry an error event.
  const t0 = performance.now();
  let ended = false;
  try {
    const r = await fetch(url(), {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': 'reset_mid_stream' },
      body: JSON.stringify(chat('m', 'hi', { stream: true })),
    });
    if (r.status === 200) {
      const s = await readChatStream(r);
      assert.ok(!s.done || s.errors.length > 0, 'a reset stream looked complete to the client');
    } else {
      assert.ok(r.status >= 500);
    }
    ended = true;
  } catch {
    ended = true;   // the connection closed under the client: acceptable
  }
  assert.ok(ended && performance.now() - t0 < 5000, 'the reset stream hung');

  await assertStillServes();
}));

test('limits: body too large (413), JSON too deep (400), malformed JSON (400), huge headers (431/400)', withLogs(async () => {
  // Body over max_body_bytes.
  const big = chat('m', 'x'.repeat(MAX_BODY + 1024));
  const r413 = await postJson(url(), big);
  expectOpenAIError(assert, r413, { status: 413 });

  // Just under the limit is fine.
  const under = chat('m', 'y'.repeat(MAX_BODY - 2048), { max_tokens: 3 });
  assert.equal((await postJson(url(), under)).status, 200, 'a body under the limit was refused');

  // Nesting deeper than max_json_depth.
  let deep = 'null';
  for (let i = 0; i < MAX_DEPTH + 10; i++) deep = `[${deep}]`;
  const rDeep = await postJson(url(), `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`);
  expectOpenAIError(assert, rDeep, { status: 400 });
  // A pathological depth (100k) must not crash the gateway either.
  const rDeeper = await postJson(url(), `{"model":"m","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  assert.ok([400, 413].includes(rDeeper.status), `depth 100000: ${rDeeper.status}`);
  expectOpenAIError(assert, rDeeper);

  // Malformed JSON, a body that is not an object, no model, no messages.
  for (const body of ['{"model": "m", "messages": [', 'not json at all', '[1,2,3]', '{"messages":[{"role":"user","content":"hi"}]}', '']) {
    const r = await postJson(url(), body);
    expectOpenAIError(assert, r, { status: 400 });
    assert.equal(r.json.error.type, 'invalid_request_error', `error.type for ${JSON.stringify(body)}`);
  }

  // Headers over max_header_bytes.
  let rHdr;
  try {
    rHdr = await postJson(url(), chat('m'), { headers: { 'x-big': 'h'.repeat(MAX_HEADER * 4) } });
  } catch (e) {
    assert.fail(`huge headers: the connection was dropped without a response (${e.cause?.code ?? e.message})`);
  }
  assert.ok([431, 400].includes(rHdr.status), `huge headers: ${rHdr.status}`);
  expectOpenAIError(assert, rHdr);
  await assertStillServes();
}));

test('a client that sends its request too slowly is cut off after read_timeout', withLogs(async () => {
  const t0 = performance.now();
  const closedAfter = await new Promise((resolve) => {
    const sock = net.connect(gw.port, '127.0.0.1', () => {
      sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n');   // never finished
    });
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('close', () => resolve({ ms: performance.now() - t0, got }));
    sock.on('error', () => {});
    setTimeout(() => { sock.destroy(); resolve({ ms: Infinity, got }); }, 6000).unref();
  });
  assert.ok(closedAfter.ms < 4500, `a half-sent request held the connection for ${closedAfter.ms} ms (read_timeout 1500ms)`);
  if (closedAfter.got) assert.match(closedAfter.got, /^HTTP\/1\.1 (408|400)/, `answer to a slow request: ${closedAfter.got.slice(0, 100)}`);
  await assertStillServes();
}));

test('unknown path -> 404 JSON; unknown model -> 404 model_not_found; wrong method -> 4xx JSON', withLogs(async () => {
  const r404 = await getJson(`${gw.url}/no/such/path`);
  expectOpenAIError(assert, r404, { status: 404 });
  const rPost = await postJson(`${gw.url}/chat/completions`, chat('m'));   // missing /v1
  expectOpenAIError(assert, rPost, { status: 404 });

  const rModel = await postJson(url(), chat('no-such-model'));
  expectOpenAIError(assert, rModel, { status: 404, code: 'model_not_found' });
  assert.match(rModel.json.error.message, /no-such-model/, 'the message names the model');

  const rMethod = await getJson(url());
  assert.ok([404, 405].includes(rMethod.status), `GET /v1/chat/completions: ${rMethod.status}`);
  expectOpenAIError(assert, rMethod);
  await assertStillServes();
}));

test('many bad requests in a row do not hurt the gateway', withLogs(async () => {
  const bad = ['{', '{"model":1}', '\u0000\u0001', '[]', '{"model":"m","messages":[', 'null'];
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => postJson(url(), bad[i % bad.length]).catch((e) => ({ status: 0, text: e.message }))));
  for (const r of results) assert.ok(r.status >= 400 && r.status < 500, `bad request answered ${r.status}: ${r.text?.slice(0, 100)}`);
  await assertStillServes();
}));
