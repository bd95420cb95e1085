// Backend faults, one at a time, from a scripted misbehaving backend (tests/lib/fault_backend.mjs): it
// refuses connections, closes or resets them, hangs before its header, stalls or resets mid-stream, sends
// garbage, a truncated SSE event, a stream that never ends, an event or a body far over the limits, or a
// wrong Content-Length. For each fault, what docs/faults.md promises:
//   - the client gets a well-formed OpenAI error (status + {"error": {message, type, param, code}} with a
//     precise message), or, when the stream had already started, the stream's last event is
//     `data: {"error": {...}}` and the gateway then ends the response and closes the connection;
//   - within a bound (the timeout involved plus slack), never a hang;
//   - slipway_upstream_errors_total{endpoint,kind} and slipway_requests_total{outcome} record it, and after
//     health.eject_after_failures faults the endpoint is ejected (slipway_endpoint_healthy 0, /readyz 503),
//     then serves again once health.eject_for has passed;
//   - an "other client" sending normal requests to another model all along sees no failure.
// errors.test.mjs covers the simulator's own faults (a down backend, 5xx relayed unchanged, garbage, a
// first-byte stall); this file covers every fault a raw socket can script, with the checks above.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSim, startGateway, stopAll, withLogs, postJson, getJson, chat, expectOpenAIError, waitFor,
} from '../lib/harness.mjs';
import { startFaultBackend } from '../lib/fault_backend.mjs';
import { exchange, requestBytes, parseResponses, sseData } from '../lib/raw_http.mjs';
import { metricValue, metricDelta, scrape, rssKiB, startOtherClient, SANITIZED, SLOWDOWN } from '../lib/fault_checks.mjs';

const STREAM_IDLE_MS = 1000;
const FIRST_BYTE_MS = 1000;
const TOTAL_MS = 3000;
const EJECT_AFTER = 2;
const EJECT_FOR_MS = 1000;
const MAX_RESPONSE_BYTES = 1024 * 1024;
const SLACK_MS = 1500 * SLOWDOWN;   // a loaded 2-core machine: the bound on top of the timeout involved

let sim, fb, gw, other;

before(async () => {
  sim = await startSim({ model: 'good-fp16', name: 'good', ttftMs: 0, tokenMs: 1, outputTokens: 4 });
  fb = await startFaultBackend({ model: 'fault-model' });
  gw = await startGateway({
    listen: { address: '127.0.0.1', port: 0 },
    threads: 2,
    metrics_on_main: true,
    models: [
      { name: 'faulty', baseline: { served_model: 'fault-model', endpoints: [fb.endpoint] } },
      { name: 'good', baseline: { served_model: sim.model, endpoints: [sim.endpoint] } },
    ],
    limits: { max_response_bytes: MAX_RESPONSE_BYTES },
    timeouts: { connect: '500ms', first_byte: `${FIRST_BYTE_MS}ms`, stream_idle: `${STREAM_IDLE_MS}ms`, total: `${TOTAL_MS}ms` },
    // Passive health only (no active check that would end an ejection early), so that an ejection is seen.
    health: { check_interval: '0s', eject_after_failures: EJECT_AFTER, eject_for: `${EJECT_FOR_MS}ms` },
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

const FAULTY = { model: 'faulty', variant: 'baseline', slice: 'all' };

/** A non-streaming request to the faulty model with this x-fault; the answer as postJson gives it. */
function plain(fault) {
  return postJson(`${gw.base}/chat/completions`, chat('faulty', 'hi'), { headers: { 'x-fault': fault } });
}

/**
 * A streaming request on a raw socket: every byte until the gateway closes the connection. A keep-alive
 * request (the default) proves the gateway closes a broken stream's connection by itself; `close` asks it to.
 */
async function streamed(fault, { close = false } = {}) {
  const headers = { 'x-fault': fault, ...(close ? { connection: 'close' } : {}) };
  const req = requestBytes({ body: chat('faulty', 'hi', { stream: true }), headers });
  const x = await exchange(gw.port, req, { timeoutMs: TOTAL_MS + 8000 });
  const [res] = parseResponses(x.bytes);
  return { ...x, res, data: res ? sseData(res.body) : [] };
}

/** Asserts a started stream that ends with an SSE error event and a closed connection; returns the error. */
function expectStreamError(s, { events, message }) {
  assert.ok(s.res, `no HTTP response at all (${s.bytes.length} bytes, error ${s.error})`);
  assert.equal(s.res.status, 200, 'the stream had started: 200');
  assert.match(s.res.headers['content-type'] ?? '', /^text\/event-stream/);
  assert.ok(s.closedByPeer, `the gateway did not close the connection within ${s.ms.toFixed(0)} ms`);
  assert.ok(s.res.complete, 'the chunked response was not ended with its last chunk');
  assert.ok(!s.data.includes('[DONE]'), 'a broken stream must not end with [DONE]');
  const content = s.data.slice(0, -1);
  assert.ok(content.every((d) => typeof d === 'string' && JSON.parse(d).choices), `events before the error: ${JSON.stringify(content).slice(0, 300)}`);
  if (events !== undefined) assert.equal(content.length, events, 'the events the backend sent before the fault were relayed');
  const last = s.data.at(-1);
  assert.equal(typeof last, 'string', `the last event is not a whole event: ${JSON.stringify(last)}`);
  const j = JSON.parse(last);
  assert.ok(j.error && typeof j.error === 'object', `last event is not an error: ${last}`);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in j.error, `error.${k} missing: ${last}`);
  assert.equal(j.error.type, 'server_error');
  assert.equal(j.error.code, 'upstream_stream_broken');
  if (message) assert.match(j.error.message, message);
  return j.error;
}

async function endpointHealthy() {
  return metricValue(await scrape(gw), 'slipway_endpoint_healthy', { model: 'faulty', endpoint: fb.endpoint });
}

/**
 * Runs one fault `times` times through `send`, each checked by `check(result)` within `maxMs` (and not
 * before `minMs`); then checks the metrics and the ejection, calls `heal()` (the backend behaves again),
 * and checks the recovery and the other client. Returns the times taken and the gateway's RSS growth.
 */
async function faultCase({ send, check, times = EJECT_AFTER, kind, outcome, minMs = 0, maxMs, ejects = true, heal }) {
  const before = await scrape(gw);
  const otherBefore = other.snapshot();
  const rss0 = rssKiB(gw.proc.child.pid);
  const took = [];
  try {
    for (let i = 0; i < times; i++) {
      const t0 = performance.now();
      const r = await send();
      const ms = performance.now() - t0;
      took.push(Math.round(ms));
      check(r);
      assert.ok(ms >= minMs && ms < maxMs, `answered after ${ms.toFixed(0)} ms, expected ${minMs}..${maxMs} ms`);
    }
    const errors = await metricDelta(gw, before, 'slipway_upstream_errors_total', { endpoint: fb.endpoint, kind }, times);
    assert.ok(errors >= times, `slipway_upstream_errors_total{kind="${kind}"} moved by ${errors}, expected ${times}`);
    const requests = await metricDelta(gw, before, 'slipway_requests_total', { ...FAULTY, outcome }, times);
    assert.equal(requests, times, `slipway_requests_total{outcome="${outcome}"}`);
    const afterText = await scrape(gw);
    if (ejects) {
      assert.equal(metricValue(afterText, 'slipway_endpoint_healthy', { model: 'faulty', endpoint: fb.endpoint }), 0,
        `the endpoint was not ejected after ${times} faults (health.eject_after_failures ${EJECT_AFTER})`);
      const ready = await getJson(`${gw.url}/readyz`);
      assert.equal(ready.status, 503, `/readyz while the only endpoint of "faulty" is ejected: ${ready.text}`);
    }
  } finally {
    // Also after a failed check: the next case must not start with this one's ejection.
    await heal?.();
    await waitFor(async () => (await endpointHealthy()) === 1, { timeoutMs: EJECT_FOR_MS + 3000, what: 'the ejection to end' });
  }
  // The gateway serves the faulty model again (normal answers, streamed and not) once the backend behaves.
  const ok = await postJson(`${gw.base}/chat/completions`, chat('faulty', 'hi'));
  assert.equal(ok.status, 200, `a normal request after the fault: ${ok.status} ${ok.text.slice(0, 200)}`);
  const okStream = await streamed('ok', { close: true });
  assert.equal(okStream.res?.status, 200);
  assert.equal(okStream.data.at(-1), '[DONE]', 'a normal stream after the fault');
  assert.equal((await getJson(`${gw.url}/readyz`)).status, 200);
  const otherNow = other.snapshot();
  assert.equal(otherNow.failed, 0, `the other client saw failures: ${JSON.stringify(otherNow.failures)}`);
  assert.ok(otherNow.ok > otherBefore.ok, 'the other client made no progress during the fault');
  assert.ok(gw.proc.alive, 'the gateway exited');
  return { took, rssGrowthKiB: rssKiB(gw.proc.child.pid) - rss0 };
}

const BACKEND = String.raw`127\.0\.0\.1:\d+`;
const WHERE = 'model `faulty` \\(baseline\\)';

// ---------------------------------------------------------------------------------------------------
// Connection-level faults

test('connection refused: 502 upstream_connect_failed (after one retry), ejected, then 503 no_healthy_upstream at once', withLogs(async () => {
  await fb.refuse();
  await faultCase({
    times: 1,   // one request tries twice (a retry when the request was never sent): 2 failures, ejected
    send: () => plain('ok'),
    check: (r) => {
      const e = expectOpenAIError(assert, r, { status: 502, code: 'upstream_connect_failed', type: 'server_error' });
      assert.match(e.message, new RegExp(`^Could not connect to the backend for ${WHERE}: ${BACKEND}: Connection refused\\.$`));
    },
    kind: 'connect', outcome: 'upstream_error', maxMs: SLACK_MS,
    heal: async () => {
      // While ejected the pool is not tried at all.
      const t0 = performance.now();
      const r = await plain('ok');
      const e = expectOpenAIError(assert, r, { status: 503, code: 'no_healthy_upstream', type: 'server_error' });
      assert.equal(e.message, 'No healthy backend endpoint for model `faulty` (baseline).');
      assert.ok(performance.now() - t0 < 500 * SLOWDOWN, 'an ejected pool is answered at once');
      await fb.listen();
    },
  });
}));

test('a connection accepted and closed at once (pooled connections dropped first): 502 upstream_error', withLogs(async () => {
  await fb.dropConnections();
  fb.acceptThen('close', 20);
  await faultCase({
    send: () => plain('ok'),
    check: (r) => {
      const e = expectOpenAIError(assert, r, { status: 502, code: 'upstream_error', type: 'server_error' });
      assert.match(e.message, new RegExp(`^The backend for ${WHERE} failed: ${BACKEND}: `));
    },
    kind: 'broken', outcome: 'upstream_error', maxMs: SLACK_MS,
    heal: () => fb.acceptThen(null),
  });
}));

// ---------------------------------------------------------------------------------------------------
// Faults before the response header is complete: an OpenAI error with a status, never a hang

const beforeHeader = [
  {
    name: 'reads the request, then closes (FIN)', fault: 'close', status: 502, code: 'upstream_error',
    message: `^The backend for ${WHERE} failed: ${BACKEND}: end of stream\\.$`, kind: 'broken', outcome: 'upstream_error',
  },
  {
    name: 'reads the request, then resets (RST)', fault: 'reset', status: 502, code: 'upstream_error',
    message: `^The backend for ${WHERE} failed: ${BACKEND}: Connection reset by peer\\.$`, kind: 'broken', outcome: 'upstream_error',
  },
  {
    name: 'hangs before the header', fault: 'hang', status: 504, code: 'upstream_timeout',
    message: `^The backend for ${WHERE} did not answer in time \\(${BACKEND}: no response header in time\\)\\.$`,
    kind: 'first_byte_timeout', outcome: 'timeout', minMs: FIRST_BYTE_MS - 50, maxMs: FIRST_BYTE_MS + SLACK_MS,
  },
  {
    name: 'sends bytes that are not HTTP', fault: 'garbage', status: 502, code: 'upstream_error',
    message: `^The backend for ${WHERE} failed: ${BACKEND}: bad version\\.$`, kind: 'broken', outcome: 'upstream_error',
  },
  {
    name: '500 with an OpenAI error body (relayed unchanged)', fault: 'status; code=500; body=json', status: 500,
    code: 'fault_backend_error', message: '^fault backend: status 500$', kind: 'status_5xx', outcome: 'upstream_error',
  },
  {
    name: '503 with an HTML body (an nginx page in front of vLLM)', fault: 'status; code=503; body=html', status: 503,
    code: 'upstream_error', message: `^The backend for ${WHERE} answered 503 with a body that is not a JSON error \\(text/html, \\d+ bytes\\)\\.$`,
    kind: 'status_5xx', outcome: 'upstream_error',
  },
  {
    name: '500 with an empty body', fault: 'status; code=500; body=empty', status: 500, code: 'upstream_error',
    message: `^The backend for ${WHERE} answered 500 with a body that is not a JSON error \\(no content type, 0 bytes\\)\\.$`,
    kind: 'status_5xx', outcome: 'upstream_error',
  },
  {
    name: 'a 200 header, then nothing (non-streaming)', fault: 'headers_then_stall', status: 504, code: 'upstream_timeout',
    message: `^The backend for ${WHERE} did not answer in time \\(the answer was not complete within timeouts\\.total, ${TOTAL_MS} ms\\)\\.$`,
    kind: 'total_timeout', outcome: 'timeout',
    minMs: TOTAL_MS - 100, maxMs: TOTAL_MS + SLACK_MS,
  },
  {
    name: 'a Content-Length longer than the body, then FIN', fault: 'long_length', status: 502, code: 'upstream_error',
    message: `^The backend for ${WHERE} failed: partial message\\.$`, kind: 'broken', outcome: 'upstream_error',
  },
  {
    name: 'a 50 MB body (limits.max_response_bytes 1 MiB)', fault: 'big_body; bytes=52428800', status: 502, code: 'upstream_response_too_large',
    message: `^The backend for ${WHERE} failed: answer larger than limits\\.max_response_bytes \\(${MAX_RESPONSE_BYTES} bytes\\)\\.$`,
    kind: 'too_large', outcome: 'upstream_error', maxRssGrowthKiB: 64 * 1024,
  },
];

for (const c of beforeHeader) {
  test(`backend ${c.name}: ${c.status} ${c.code}`, withLogs(async () => {
    const { took, rssGrowthKiB } = await faultCase({
      send: () => plain(c.fault),
      check: (r) => {
        const e = expectOpenAIError(assert, r, { status: c.status, code: c.code, type: 'server_error' });
        assert.match(e.message, new RegExp(c.message));
      },
      kind: c.kind, outcome: c.outcome, minMs: c.minMs ?? 0, maxMs: c.maxMs ?? SLACK_MS,
    });
    if (c.maxRssGrowthKiB && !SANITIZED) assert.ok(rssGrowthKiB < c.maxRssGrowthKiB, `the gateway's RSS grew by ${rssGrowthKiB} KiB`);
    process.stderr.write(`  ${c.fault}: ${took.join(', ')} ms${c.maxRssGrowthKiB ? `, RSS +${rssGrowthKiB} KiB` : ''}\n`);
  }));
}

// ---------------------------------------------------------------------------------------------------
// Faults after a stream started (200 and events already relayed): the last event is an SSE error event,
// then the response ends with its last chunk and the connection closes.

const midStream = [
  { name: '3 events, then RST', fault: 'events_then_reset; events=3', events: 3, message: /^The backend stream broke off after 3 events: Connection reset by peer\.$/, kind: 'broken', outcome: 'upstream_error' },
  { name: '3 events, then FIN without the last chunk', fault: 'events_then_close; events=3', events: 3, message: /^The backend stream broke off after 3 events: partial message\.$/, kind: 'broken', outcome: 'upstream_error' },
  { name: '3 events, then a chunk size that is not hex', fault: 'bad_chunk; events=3', events: 3, message: /^The backend stream broke off after 3 events: bad chunk\.$/, kind: 'broken', outcome: 'upstream_error' },
  {
    name: '3 events, then silence', fault: 'events_then_stall; events=3', events: 3,
    message: new RegExp(`^The backend stream broke off after 3 events: no data for timeouts\\.stream_idle \\(${STREAM_IDLE_MS} ms\\)\\.$`),
    kind: 'stream_idle_timeout', outcome: 'timeout', minMs: STREAM_IDLE_MS - 50, maxMs: STREAM_IDLE_MS + SLACK_MS,
  },
  {
    name: 'the header, then silence', fault: 'headers_then_stall', events: 0,
    message: new RegExp(`^The backend stream broke off after 0 events: no data for timeouts\\.stream_idle \\(${STREAM_IDLE_MS} ms\\)\\.$`),
    kind: 'stream_idle_timeout', outcome: 'timeout', minMs: STREAM_IDLE_MS - 50, maxMs: STREAM_IDLE_MS + SLACK_MS,
  },
  { name: '3 events, then half an event and a clean end of the body', fault: 'truncated_event; events=3', events: 3, message: /^The backend stream broke off after 3 events: the stream ended inside an event \(\d+ bytes\)\.$/, kind: 'broken', outcome: 'upstream_error' },
  { name: '3 events, then half an event and FIN (a close-delimited body)', fault: 'truncated_event; events=3; framing=close', events: 3, message: /^The backend stream broke off after 3 events: the stream ended inside an event \(\d+ bytes\)\.$/, kind: 'broken', outcome: 'upstream_error' },
  { name: 'one 8 MiB event (over the 4 MiB event bound)', fault: 'big_event; bytes=8388608', events: 0, message: /^The backend stream broke off after 0 events: an event larger than 4194304 bytes\.$/, kind: 'broken', outcome: 'upstream_error', maxRssGrowthKiB: 64 * 1024 },
  {
    name: 'a stream that never ends', fault: 'endless; interval_ms=2', message: new RegExp(`^The backend stream broke off after \\d+ events: the exchange ran past timeouts\\.total \\(${TOTAL_MS} ms\\)\\.$`),
    kind: 'total_timeout', outcome: 'timeout', minMs: TOTAL_MS - 300, maxMs: TOTAL_MS + SLACK_MS, maxRssGrowthKiB: 64 * 1024,
  },
];

for (const c of midStream) {
  test(`backend stream: ${c.name}: an SSE error event, then the connection closes`, withLogs(async () => {
    const { took, rssGrowthKiB } = await faultCase({
      send: () => streamed(c.fault),
      check: (s) => expectStreamError(s, { events: c.events, message: c.message }),
      kind: c.kind, outcome: c.outcome, minMs: c.minMs ?? 0, maxMs: c.maxMs ?? SLACK_MS,
    });
    if (c.maxRssGrowthKiB && !SANITIZED) assert.ok(rssGrowthKiB < c.maxRssGrowthKiB, `the gateway's RSS grew by ${rssGrowthKiB} KiB`);
    process.stderr.write(`  ${c.fault}: ${took.join(', ')} ms${c.maxRssGrowthKiB ? `, RSS +${rssGrowthKiB} KiB` : ''}\n`);
  }));
}

// ---------------------------------------------------------------------------------------------------
// A Content-Length shorter than the body: the answer is relayed as framed (nothing tells a proxy), but the
// bytes past it are never read as the next answer on that connection.

test('a Content-Length 16 bytes short: the next requests on that endpoint get their own answers', withLogs(async () => {
  const r = await plain('short_length');
  assert.equal(r.status, 200);
  assert.equal(r.json, undefined, 'the body is cut at the declared length (not whole JSON)');
  const next = [];
  for (let i = 0; i < 6; i++) next.push(await postJson(`${gw.base}/chat/completions`, chat('faulty', `next ${i}`)));
  assert.deepEqual(next.map((x) => x.status), Array(6).fill(200), `after a short Content-Length: ${next.map((x) => `${x.status} ${x.text.slice(0, 120)}`).join(' | ')}`);
  for (const x of next) assert.equal(x.json?.object, 'chat.completion');
  assert.equal(other.snapshot().failed, 0);
}));
