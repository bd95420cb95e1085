// The proxy basics: request ids, model rewriting, the variant header, /v1/models, health endpoints,
// Authorization handling, /v1/completions, and pass-through of other /v1 paths to the baseline.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, getJson, chat, readChatStream,
} from '../lib/harness.mjs';

let baseline, canary, keyed, hostA, hostB, gw;

before(async () => {
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 5 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', ...timing });
  keyed = await startSim({ model: 'k-fp16', name: 'keyed', ...timing });
  const cfg = modelConfig({ name: 'm', baseline, canary, weight: 50 });
  cfg.models.push({ name: 'k', baseline: { served_model: 'k-fp16', api_key: 'backend-secret', endpoints: [keyed.endpoint] } });
  // one variant, two endpoints (two backends behind different host names, in production)
  hostA = await startSim({ model: 'h-fp16', name: 'host-a', ...timing });
  hostB = await startSim({ model: 'h-fp16', name: 'host-b', ...timing });
  cfg.models.push({ name: 'h', baseline: { served_model: 'h-fp16', endpoints: [hostA.endpoint, hostB.endpoint] } });
  gw = await startGateway(cfg);
});

after(async () => { await stopAll(); });

const url = () => `${gw.base}/chat/completions`;

/** Sends requests for user ids until one lands on `variant`; returns that user id. */
async function userOn(variant) {
  for (let i = 0; i < 200; i++) {
    const r = await postJson(url(), chat('m', 'hi', { user: `probe-${i}` }));
    if (r.headers.get('x-slipway-variant') === variant) return `probe-${i}`;
  }
  throw new Error(`no user lands on ${variant} at weight 50`);
}

test('x-request-id: the client\'s is kept and forwarded; otherwise a new unique one', withLogs(async () => {
  const user = await userOn('baseline');
  const r = await postJson(url(), chat('m', 'hi', { user }), { headers: { 'x-request-id': 'client-req-42' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'client-req-42');
  assert.equal((await baseline.stats()).last_request.x_request_id, 'client-req-42', 'not forwarded upstream');

  const ids = new Set();
  for (let i = 0; i < 20; i++) {
    const r2 = await postJson(url(), chat('m', 'hi', { user }));
    const id = r2.headers.get('x-request-id');
    assert.ok(id && id.length >= 8, `generated id: ${id}`);
    assert.equal((await baseline.stats()).last_request.x_request_id, id, 'the generated id was not forwarded upstream');
    ids.add(id);
  }
  assert.equal(ids.size, 20, 'generated request ids repeat');

  // Also on gateway-made errors.
  const e = await postJson(url(), chat('nope'), { headers: { 'x-request-id': 'err-7' } });
  assert.equal(e.headers.get('x-request-id'), 'err-7');
}));

test('the body model is rewritten to the variant\'s served model; everything else is forwarded as is', withLogs(async () => {
  const cu = await userOn('canary');
  const body = chat('m', 'hi', { user: cu, temperature: 0.25, max_tokens: 7, seed: 3 });
  const r = await postJson(url(), body);
  assert.equal(r.headers.get('x-slipway-variant'), 'canary');
  const st = await canary.stats();
  assert.equal(st.last_request.model, 'm-int4');
  assert.equal(st.last_request.path, '/v1/chat/completions');
  // Body size changes only by the model name's length difference ("m" -> "m-int4").
  const sent = Buffer.byteLength(JSON.stringify(body));
  assert.equal(st.last_request.body_bytes, sent + 'm-int4'.length - 'm'.length, 'the body was changed beyond the model name');

  const bu = await userOn('baseline');
  await postJson(url(), chat('m', 'hi', { user: bu }));
  assert.equal((await baseline.stats()).last_request.model, 'm-fp16');
}));

test('GET /v1/models lists the configured client-facing models', withLogs(async () => {
  const r = await getJson(`${gw.base}/models`);
  assert.equal(r.status, 200);
  assert.equal(r.json.object, 'list');
  const ids = r.json.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['h', 'k', 'm']);
  for (const m of r.json.data) assert.equal(m.object, 'model');
}));

test('/healthz and /readyz are 200 when the backends are up', withLogs(async () => {
  assert.equal((await getJson(`${gw.url}/healthz`)).status, 200);
  assert.equal((await getJson(`${gw.url}/readyz`)).status, 200);
}));

test('Authorization: passed through by default; replaced by a backend api_key when configured', withLogs(async () => {
  const bu = await userOn('baseline');
  await postJson(url(), chat('m', 'hi', { user: bu }), { headers: { authorization: 'Bearer client-token' } });
  assert.equal((await baseline.stats()).last_request.authorization, 'Bearer client-token');

  await postJson(url(), chat('k'), { headers: { authorization: 'Bearer client-token' } });
  assert.equal((await keyed.stats()).last_request.authorization, 'Bearer backend-secret');
}));

test('POST /v1/completions works streaming and not', withLogs(async () => {
  const r = await postJson(`${gw.base}/completions`, { model: 'm', prompt: 'Once upon a time', max_tokens: 5 });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.equal(r.json.object, 'text_completion');
  assert.equal(typeof r.json.choices[0].text, 'string');

  const s = await fetch(`${gw.base}/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', prompt: 'Once upon a time', max_tokens: 5, stream: true }),
  });
  assert.equal(s.status, 200);
  const { sseEvents } = await import('../lib/harness.mjs');
  let text = '';
  let done = false;
  for await (const ev of sseEvents(s)) {
    if (ev.data === '[DONE]') { done = true; continue; }
    text += JSON.parse(ev.data).choices?.[0]?.text ?? '';
  }
  assert.ok(done);
  assert.ok(text.length > 0);
}));

test('other /v1 paths pass through to the baseline (embeddings)', withLogs(async () => {
  const r = await postJson(`${gw.base}/embeddings`, { model: 'm', input: 'hello' });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.equal((await baseline.stats()).last_request.path, '/v1/embeddings');
}));

test('the variant header can be turned off', withLogs(async () => {
  const cfg = modelConfig({ name: 'm', baseline, canary, weight: 50, extra: { variant_header: '' } });
  const g2 = await startGateway(cfg);
  const r = await postJson(`${g2.base}/chat/completions`, chat('m'));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-slipway-variant'), null);
  await g2.stop();
}));

test('a streamed answer carries the variant and request id headers too', withLogs(async () => {
  const r = await fetch(url(), {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'stream-1' },
    body: JSON.stringify(chat('m', 'hi', { stream: true, user: 'stream-user' })),
  });
  assert.equal(r.headers.get('x-request-id'), 'stream-1');
  assert.ok(['baseline', 'canary'].includes(r.headers.get('x-slipway-variant')));
  const s = await readChatStream(r);
  assert.ok(s.done);
}));

test('each endpoint of a variant gets its own Host field, not the first endpoint\'s', withLogs(async () => {
  for (let i = 0; i < 8; i++) {
    const r = await postJson(url(), chat('h', 'hi'));
    assert.equal(r.status, 200, r.text);
  }
  for (const sim of [hostA, hostB]) {
    const s = await sim.stats();
    assert.ok(s.requests_total >= 2, `${sim.name} got ${s.requests_total} requests: the endpoints are not both in use`);
    assert.equal(s.last_request.headers.host, sim.endpoint, `${sim.name} got Host: ${s.last_request.headers.host}`);
  }
}));
