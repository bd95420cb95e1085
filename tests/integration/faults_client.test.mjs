// Client faults and hostile input: slowloris (headers and body), a huge header, a body over the limit
// (declared and chunked), invalid UTF-8, 10,000-deep JSON, a catastrophic regex in a schema, a tool list of
// 10,000 functions, 1,000 pipelined requests, and a client that never reads its stream. For each, what
// docs/faults.md promises: a clear 4xx (OpenAI error JSON) or a bounded cut-off, in bounded time, with the
// gateway's resident memory (VmRSS) growing by less than 64 MiB, while an "other client" sending normal
// requests all along sees no failure. errors.test.mjs and validation.test.mjs cover the single-shot limits
// (413, 431, 400 for depth, non-RE2 patterns); this file adds the hostile shapes, volume and timing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startSim, startGateway, stopAll, withLogs, postJson, chat, expectOpenAIError, waitFor, pool,
} from '../lib/harness.mjs';
import { startFaultBackend } from '../lib/fault_backend.mjs';
import { exchange, requestBytes, parseResponses } from '../lib/raw_http.mjs';
import { metricDelta, scrape, rssKiB, startOtherClient, SANITIZED, SLOWDOWN } from '../lib/fault_checks.mjs';

const READ_TIMEOUT_MS = 1500;
const STREAM_IDLE_MS = 1000;    // also the gateway's write timeout towards a client
const MAX_BODY = 2 * 1024 * 1024;   // a 10,000-function tool list (1.1 MB) fits
const MAX_HEADER = 16 * 1024;
const RSS_BOUND_KIB = 64 * 1024;

let sim, fb, gw, other;

before(async () => {
  sim = await startSim({ model: 'good-fp16', name: 'good', ttftMs: 0, tokenMs: 1, outputTokens: 4 });
  fb = await startFaultBackend({ model: 'fault-model' });
  gw = await startGateway({
    listen: { address: '127.0.0.1', port: 0 },
    threads: 2,
    metrics_on_main: true,
    models: [
      { name: 'm', baseline: { served_model: 'fault-model', endpoints: [fb.endpoint] } },
      { name: 'good', baseline: { served_model: sim.model, endpoints: [sim.endpoint] } },
    ],
    limits: { max_body_bytes: MAX_BODY, max_header_bytes: MAX_HEADER, read_timeout: `${READ_TIMEOUT_MS}ms` },
    timeouts: { first_byte: '5s', stream_idle: `${STREAM_IDLE_MS}ms`, total: '30s' },
    validation: { enabled: true },
    health: { check_interval: '0s' },
  });
  other = startOtherClient(gw, 'good');
});

after(async () => {
  if (other) {
    const s = await other.stop();
    process.stderr.write(`other client over the whole file: ${s.ok} ok, ${s.failed} failed\n`);
  }
  await fb?.close();
  await stopAll();
});

/** Runs `fn` and checks what every client fault must leave behind; returns fn's result and the figures. */
async function bounded(fn, { maxMs: bound, maxRssKiB = RSS_BOUND_KIB }) {
  const maxMs = bound * SLOWDOWN;
  const otherBefore = other.snapshot();
  const rss0 = rssKiB(gw.proc.child.pid);
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(gw.proc.child.pid)); }, 20);
  const t0 = performance.now();
  let result;
  try {
    result = await fn();
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - t0;
  peak = Math.max(peak, rssKiB(gw.proc.child.pid));
  const growth = peak - rss0;
  assert.ok(ms < maxMs, `took ${ms.toFixed(0)} ms (bound ${maxMs} ms)`);
  if (!SANITIZED) assert.ok(growth < maxRssKiB, `the gateway's RSS grew by ${growth} KiB (bound ${maxRssKiB} KiB)`);
  assert.ok(gw.proc.alive, 'the gateway exited');
  const ok = await postJson(`${gw.base}/chat/completions`, chat('good', 'still there?', { max_tokens: 3 }));
  assert.equal(ok.status, 200, `a normal request right after: ${ok.status} ${ok.text.slice(0, 200)}`);
  const now = other.snapshot();
  assert.equal(now.failed, 0, `the other client saw failures: ${JSON.stringify(now.failures)}`);
  assert.ok(now.ok > otherBefore.ok || ms < 200, 'the other client made no progress meanwhile');
  process.stderr.write(`  ${ms.toFixed(0)} ms, RSS ${rss0} -> peak ${peak} KiB (+${growth})\n`);
  return { result, ms, growth };
}

/** The one HTTP response in `x` (a raw exchange) as postJson would give it, for expectOpenAIError. */
function asResponse(x) {
  const [res] = parseResponses(x.bytes);
  assert.ok(res, `no HTTP response (${x.bytes.length} bytes, closed by the gateway: ${x.closedByPeer}, error ${x.error})`);
  const text = res.body.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json, headers: new Headers(res.headers) };
}

const body = (obj) => JSON.stringify(obj);

// ---------------------------------------------------------------------------------------------------
// Slow and oversized requests: cut off by limits.read_timeout / the size limits, with a 4xx

test('slowloris: 40 connections trickling headers or a body are answered 408 and closed after read_timeout', withLogs(async () => {
  const trickle = (withBody) => new Promise((resolve) => {
    const t0 = performance.now();
    const parts = [];
    const sock = net.connect(gw.port, '127.0.0.1');
    const payload = withBody
      ? 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"model":"good","messages":['
      : 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const timer = setInterval(() => {
      if (sock.destroyed) return;
      // The request line (and, for the body case, the headers) at once, then one byte every 100 ms.
      if (i === 0) sock.write(payload);
      else sock.write(withBody ? ' ' : 'a');
      i++;
    }, 100);
    sock.on('data', (d) => parts.push(d));
    const done = () => { clearInterval(timer); resolve({ ms: performance.now() - t0, bytes: Buffer.concat(parts) }); };
    sock.on('close', done);
    sock.on('error', () => {});
    setTimeout(() => sock.destroy(), READ_TIMEOUT_MS + 6000).unref();
  });
  const { result } = await bounded(() => Promise.all(Array.from({ length: 40 }, (_, i) => trickle(i % 2 === 1))), { maxMs: READ_TIMEOUT_MS + 4000 });
  for (const r of result) {
    assert.ok(r.ms < READ_TIMEOUT_MS + 3000 * SLOWDOWN, `a slow client held its connection for ${r.ms.toFixed(0)} ms`);
    const e = expectOpenAIError(assert, asResponse({ bytes: r.bytes }), { status: 408, code: 'request_timeout' });
    assert.equal(e.message, `The request was not received within limits.read_timeout (${READ_TIMEOUT_MS} ms).`);
  }
}));

test('a 1 MiB header line and 10,000 small headers: 431 headers_too_large at once', withLogs(async () => {
  const big = requestBytes({ body: chat('good', 'hi'), headers: { 'x-huge': 'h'.repeat(1024 * 1024) } });
  const many = requestBytes({ body: chat('good', 'hi'), headers: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x-h${i}`, 'v'])) });
  for (const req of [big, many]) {
    const { result: x } = await bounded(() => exchange(gw.port, req, { timeoutMs: 5000 }), { maxMs: 3000 });
    assert.ok(x.closedByPeer, 'the gateway closes the connection after a 431');
    const e = expectOpenAIError(assert, asResponse(x), { status: 431, code: 'headers_too_large' });
    assert.equal(e.message, `The request's headers are larger than limits.max_header_bytes (${MAX_HEADER} bytes).`);
  }
}));

/**
 * Sends `head`, then `block()` after block (backpressure respected) until the gateway answers or closes, or
 * 8 MiB are sent: a client uploading a body the gateway refuses. Returns { bytes, sent }.
 */
function uploadUntilAnswered(head, block) {
  return new Promise((resolve) => {
    const parts = [];
    let sent = 0;
    const sock = net.connect(gw.port, '127.0.0.1', async () => {
      sock.write(head);
      while (!sock.destroyed && sent < 8 * 1024 * 1024 && parts.length === 0) {
        const b = block();
        if (!sock.write(b)) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
        else await new Promise((r) => setImmediate(r));   // let an answer in between blocks
        sent += b.length;
      }
    });
    sock.on('data', (d) => parts.push(d));
    sock.on('close', () => resolve({ bytes: Buffer.concat(parts), sent }));
    sock.on('error', () => {});
    setTimeout(() => sock.destroy(), 6000).unref();
  });
}

test('a body over max_body_bytes, still being uploaded: 413 request_too_large reaches the client (declared 10 GiB, or chunked)', withLogs(async () => {
  const data = Buffer.alloc(64 * 1024, 'x');
  const chunk = Buffer.concat([Buffer.from('10000\r\n'), data, Buffer.from('\r\n')]);
  const uploads = [
    ['Content-Length: 10737418240', () => data],      // refused from its header, before any body byte is read
    ['Transfer-Encoding: chunked', () => chunk],       // refused once the limit is passed
  ];
  for (const [framing, block] of uploads) {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;
    // The gateway answers, then reads and drops the rest for up to 1 s so that the answer is not lost to a
    // reset (a lingering close): bounded by that second plus slack.
    const { result } = await bounded(() => uploadUntilAnswered(head, block), { maxMs: 3500 });
    const e = expectOpenAIError(assert, asResponse({ bytes: result.bytes }), { status: 413, code: 'request_too_large' });
    assert.equal(e.message, `The request body is larger than limits.max_body_bytes (${MAX_BODY} bytes).`);
    process.stderr.write(`  ${framing}: 413 after ${(result.sent / 1024).toFixed(0)} KiB sent\n`);
  }
}));

// ---------------------------------------------------------------------------------------------------
// Hostile JSON: refused with a 400 before any backend is asked, in bounded time and memory

test('invalid UTF-8 in a JSON string: 400 invalid_json naming UTF-8', withLogs(async () => {
  const before = await scrape(gw);
  const seen = fb.seen.length;
  const raw = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"caf'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}]}')]);
  const { result: r } = await bounded(() => postJson(`${gw.base}/chat/completions`, new Uint8Array(raw)), { maxMs: 1000 });
  const e = expectOpenAIError(assert, r, { status: 400, code: 'invalid_json', type: 'invalid_request_error' });
  assert.match(e.message, /^The request body is not valid JSON: .*UTF-8/);
  assert.equal(await metricDelta(gw, before, 'slipway_requests_total', { model: 'other', slice: 'all', outcome: 'client_error' }, 1), 1);
  assert.equal(fb.seen.length, seen, 'the backend was asked');
}));

test('10,000-deep JSON, 200 requests 20 at a time: each 400 json_too_deep, memory bounded', withLogs(async () => {
  const deep = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  const deepObj = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
  const before = await scrape(gw);
  const { result } = await bounded(() => pool(200, 20, (i) => postJson(`${gw.base}/chat/completions`, i % 2 ? deep : deepObj)), { maxMs: 10_000 });
  for (const r of result) {
    const e = expectOpenAIError(assert, r, { status: 400, code: 'json_too_deep' });
    assert.equal(e.message, 'The request body nests JSON deeper than the limit of 64 levels.');
  }
  assert.equal(await metricDelta(gw, before, 'slipway_requests_total', { model: 'other', slice: 'all', outcome: 'client_error' }, 200), 200);
}));

test('a catastrophic regex (a+)+$ in a schema against a 100,000-character answer: judged in well under 1 s (RE2)', withLogs(async () => {
  const schema = { type: 'object', properties: { s: { type: 'string', pattern: '(a+)+$' } }, required: ['s'] };
  const rf = { response_format: { type: 'json_schema', json_schema: { name: 'redos', schema } } };
  const before = await scrape(gw);
  for (const stream of [false, true]) {
    const t0 = performance.now();
    const r = await postJson(`${gw.base}/chat/completions`, chat('m', 'a long string please', { ...rf, stream }), { headers: { 'x-fault': 'long_string; len=100000', 'x-request-id': `redos-${stream}` } });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.ok(ms < 1000 * SLOWDOWN, `answered in ${ms.toFixed(0)} ms`);
    const line = await gw.proc.waitForEvent('request', { pred: (j) => j.request_id === `redos-${stream}` });
    assert.equal(line.valid, false, `verdict: ${JSON.stringify(line)}`);
    assert.deepEqual(line.findings, ['schema_violation']);
    process.stderr.write(`  (a+)+$ on 100,000 a's + "!", stream ${stream}: ${ms.toFixed(0)} ms\n`);
  }
  assert.equal(await metricDelta(gw, before, 'slipway_validation_findings_total', { model: 'm', slice: 'all', kind: 'schema_violation' }, 2), 2);
}));

test('a tool list of 10,000 functions: answered in bounded time and memory', withLogs(async () => {
  const tools = (k) => Array.from({ length: 10_000 }, (_, i) => ({
    type: 'function', function: { name: `f${k}_${i}`, parameters: { type: 'object', properties: { q: { type: 'string' } } } },
  }));
  const { result } = await bounded(async () => {
    const out = [];
    for (let k = 0; k < 4; k++) out.push(await postJson(`${gw.base}/chat/completions`, chat('m', 'call one', { tools: tools(k) })));
    return out;
  }, { maxMs: 20_000 });
  for (const r of result) {
    assert.ok(r.status === 200 || r.status === 400, `${r.status} ${r.text.slice(0, 200)}`);
    if (r.status === 400) expectOpenAIError(assert, r, { status: 400 });
    process.stderr.write(`  10,000 tools: ${r.status} in ${r.ms.toFixed(0)} ms\n`);
    assert.ok(r.ms < 5000 * SLOWDOWN, `one request with 10,000 tools took ${r.ms.toFixed(0)} ms`);
  }
}));

// ---------------------------------------------------------------------------------------------------
// Pipelining and a client that does not read

test('1,000 pipelined requests on one connection: 1,000 answers, in order, memory bounded', withLogs(async () => {
  const N = 1000;
  const reqs = Array.from({ length: N }, (_, i) => requestBytes({
    body: chat('good', `pipelined ${i}`, { max_tokens: 2 }),
    headers: { 'x-request-id': `pipe-${i}`, ...(i === N - 1 ? { connection: 'close' } : {}) },
  }));
  const { result: x, ms } = await bounded(() => exchange(gw.port, Buffer.concat(reqs), { timeoutMs: 40_000 }), { maxMs: 40_000 });
  const responses = parseResponses(x.bytes);
  assert.equal(responses.length, N, `answers: ${responses.length}`);
  assert.deepEqual(responses.map((r) => r.headers['x-request-id']), Array.from({ length: N }, (_, i) => `pipe-${i}`), 'answers out of order');
  assert.ok(responses.every((r) => r.status === 200 && r.complete), `statuses: ${[...new Set(responses.map((r) => r.status))]}`);
  process.stderr.write(`  ${N} pipelined: ${(N / (ms / 1000)).toFixed(0)} req/s\n`);
}));

test('Expect: 100-continue: "100 Continue" once the header is in, then the answer to the body sent after it', withLogs(async () => {
  const body = Buffer.from(JSON.stringify(chat('good', 'continue?', { max_tokens: 2 })));
  const head = requestBytes({ headers: { expect: '100-continue', 'content-length': body.length, connection: 'close' } });
  const { result } = await bounded(() => new Promise((resolve) => {
    const parts = [];
    let sentBody = false;
    const sock = net.connect(gw.port, '127.0.0.1', () => sock.write(head));   // the header alone: curl's way
    const timer = setTimeout(() => { sock.destroy(); resolve({ bytes: Buffer.concat(parts), sentBody, timedOut: true }); }, 5000);
    sock.on('data', (d) => {
      parts.push(d);
      if (!sentBody && Buffer.concat(parts).includes('\r\n\r\n')) {
        sentBody = true;
        sock.write(body);
      }
    });
    sock.on('close', () => { clearTimeout(timer); resolve({ bytes: Buffer.concat(parts), sentBody, timedOut: false }); });
    sock.on('error', () => {});
  }), { maxMs: 5000 });
  const text = result.bytes.toString('latin1');
  assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), `first bytes: ${JSON.stringify(text.slice(0, 60))}`);
  assert.ok(result.sentBody && !result.timedOut);
  const [answer] = parseResponses(result.bytes.subarray('HTTP/1.1 100 Continue\r\n\r\n'.length));
  assert.equal(answer?.status, 200, text.slice(0, 300));
  assert.equal(JSON.parse(answer.body.toString()).object, 'chat.completion');
  // Header and body in one write: no interim answer is needed, and only the final one comes.
  const whole = requestBytes({ body, headers: { expect: '100-continue', connection: 'close' } });
  const x = await exchange(gw.port, whole, { timeoutMs: 5000 });
  const answers = parseResponses(x.bytes);
  assert.equal(answers.length, 1, x.bytes.toString('latin1').slice(0, 300));
  assert.equal(answers[0].status, 200);
}));

test('a client that never reads an endless stream is cut off after timeouts.stream_idle, memory bounded', withLogs(async () => {
  const before = await scrape(gw);
  const openBefore = fb.openConnections;
  const { result } = await bounded(() => new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(gw.port, '127.0.0.1', () => {
      sock.write(requestBytes({ body: chat('m', 'stream forever', { stream: true }), headers: { 'x-fault': 'endless; pad=4000', 'x-request-id': 'never-reads' } }));
      sock.pause();   // never read: the gateway's writes fill the socket buffers, then block
    });
    sock.on('error', () => {});
    gw.proc.waitForEvent('request', { pred: (j) => j.request_id === 'never-reads', timeoutMs: 20_000 })
      .then((line) => { resolve({ line, ms: performance.now() - t0 }); sock.destroy(); })
      .catch((err) => { resolve({ err, ms: performance.now() - t0 }); sock.destroy(); });
  }), { maxMs: 15_000 });
  assert.ok(!result.err, String(result.err));
  const { line } = result;
  assert.equal(line.client_gone, true, `the request line: ${JSON.stringify(line)}`);
  assert.equal(line.status, 200);
  process.stderr.write(`  never-reading client: cut after ${result.ms.toFixed(0)} ms, ${(line.bytes_out / 1048576).toFixed(1)} MiB written to it\n`);
  // The backend's stream is closed too (not left generating for nobody).
  await waitFor(() => fb.openConnections <= openBefore, { timeoutMs: 3000, what: 'the upstream stream to be closed' });
  assert.equal(await metricDelta(gw, before, 'slipway_requests_total', { model: 'm', slice: 'all', outcome: 'client_gone' }, 1), 1);
}));

