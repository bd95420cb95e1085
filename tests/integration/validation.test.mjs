// Inline validation through the real gateway, checked the way a user would check it: simulated backends
// with slippage (a canary profile file, or the x-sim-slip header when only one variant is asked), every
// answer the client receives checked again here against the request's schema with a small independent
// checker, and the gateway's verdicts read from its access log (`event: "request"` lines on stdout).
//
//  1. counting: the canary emits N schema violations out of M; the log counts exactly N, and M - N valid;
//  2. fallback: the client receives only schema-valid answers; the fallbacks are exactly the canary's
//     invalid answers (recomputed by asking the deterministic canary directly);
//  3. reject: 502 response_validation_failed naming the finding kind and its JSON pointer;
//  4. a canary that is down or answers 5xx falls back to the baseline, streaming or not;
//  5. streamed and non-streamed tool calls get the same verdict;
//  6. request bounds (schema depth, size, non-RE2 pattern): 400 before any backend is asked;
//  7. validation never changes a passing response: byte-for-byte what the backend sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, readChatStream, waitFor, pool,
  closedPort, tmpDir, toYaml, expectOpenAIError,
} from '../lib/harness.mjs';

// ---------------------------------------------------------------------------------------------------
// A nested schema (objects in objects, an array of objects, enums, integer bounds, closed objects).

const ORDER_SCHEMA = {
  type: 'object',
  properties: {
    order_id: { type: 'string', minLength: 3 },
    status: { type: 'string', enum: ['pending', 'shipped', 'delivered', 'cancelled'] },
    customer: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        tier: { type: 'string', enum: ['free', 'pro', 'enterprise'] },
        address: {
          type: 'object',
          properties: {
            city: { type: 'string' },
            zip: { type: 'string' },
            country: { type: 'string', enum: ['FR', 'DE', 'US'] },
          },
          required: ['city', 'zip', 'country'],
          additionalProperties: false,
        },
      },
      required: ['name', 'tier', 'address'],
      additionalProperties: false,
    },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 4,
      items: {
        type: 'object',
        properties: {
          sku: { type: 'string' },
          qty: { type: 'integer', minimum: 1, maximum: 10 },
          gift: { type: 'boolean' },
        },
        required: ['sku', 'qty', 'gift'],
        additionalProperties: false,
      },
    },
  },
  required: ['order_id', 'status', 'customer', 'items'],
  additionalProperties: false,
};

function schemaRequest(model, i, extra = {}) {
  return chat(model, `Extract order number ${i} as JSON.`, {
    response_format: { type: 'json_schema', json_schema: { name: 'order', strict: true, schema: ORDER_SCHEMA } },
    ...extra,
  });
}

const WEATHER_TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather forecast for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        unit: { type: 'string', enum: ['c', 'f'] },
      },
      required: ['city', 'days', 'unit'],
      additionalProperties: false,
    },
  },
}];

// ---------------------------------------------------------------------------------------------------
// An independent checker for the keywords the schemas above use. Returns [{path, rule}], empty = valid.
// Paths are JSON pointers; a missing required property is reported at its parent object, as the
// gateway's validator does.

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function check(schema, v, ptr = '', errs = []) {
  const at = ptr === '' ? '/' : ptr;
  if (schema.type) {
    const t = typeOf(v);
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const ok = types.some((ty) => ty === t || (ty === 'number' && t === 'integer'));
    if (!ok) { errs.push({ path: at, rule: 'type' }); return errs; }
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) errs.push({ path: at, rule: 'enum' });
  if (typeof v === 'string' && schema.minLength !== undefined && [...v].length < schema.minLength) errs.push({ path: at, rule: 'minLength' });
  if (typeof v === 'number') {
    if (schema.minimum !== undefined && v < schema.minimum) errs.push({ path: at, rule: 'minimum' });
    if (schema.maximum !== undefined && v > schema.maximum) errs.push({ path: at, rule: 'maximum' });
  }
  if (typeOf(v) === 'object') {
    for (const r of schema.required ?? []) if (!(r in v)) errs.push({ path: at, rule: 'required', property: r });
    for (const [k, val] of Object.entries(v)) {
      const sub = schema.properties?.[k];
      const p = `${ptr}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (sub) check(sub, val, p, errs);
      else if (schema.additionalProperties === false) errs.push({ path: p, rule: 'additionalProperties' });
    }
  }
  if (Array.isArray(v)) {
    if (schema.minItems !== undefined && v.length < schema.minItems) errs.push({ path: at, rule: 'minItems' });
    if (schema.maxItems !== undefined && v.length > schema.maxItems) errs.push({ path: at, rule: 'maxItems' });
    if (schema.items) v.forEach((x, i) => check(schema.items, x, `${ptr}/${i}`, errs));
  }
  return errs;
}

/** Checks a chat.completion body's content against `schema`: { ok, errors, parsed }. */
function checkContent(body, schema) {
  const content = body?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') return { ok: false, errors: [{ path: '/content', rule: 'no content' }] };
  let parsed;
  try { parsed = JSON.parse(content); } catch { return { ok: false, errors: [{ path: '/content', rule: 'not JSON' }] }; }
  const errors = check(schema, parsed);
  return { ok: errors.length === 0, errors, parsed };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function writeProfile(name, profile) {
  const file = path.join(tmpDir(), `${name}.yaml`);
  fs.writeFileSync(file, toYaml(profile) + '\n');
  return file;
}

/** The gateway's `request` access-log lines for `ids`, waiting until all are there: Map id -> line. */
async function requestLines(gw, ids, { timeoutMs = 10_000 } = {}) {
  const want = new Set(ids);
  let found;
  await waitFor(() => {
    found = new Map();
    for (const e of gw.proc.events()) if (e.event === 'request' && want.has(e.request_id)) found.set(e.request_id, e);
    return found.size === want.size;
  }, { timeoutMs, what: `${want.size} request log lines (have ${found?.size ?? 0})` });
  // Exactly one line per request.
  const counts = new Map();
  for (const e of gw.proc.events()) if (e.event === 'request' && want.has(e.request_id)) counts.set(e.request_id, (counts.get(e.request_id) ?? 0) + 1);
  for (const [id, n] of counts) assert.equal(n, 1, `request ${id} has ${n} access-log lines`);
  return found;
}

const kinds = (arr) => [...new Set(arr ?? [])].sort();

// The active health check's probe times out after min(check_interval, 2 s): the harness's 200 ms interval
// makes a simulator that is busy with 16 concurrent requests on a loaded machine look down (and the canary
// then answers 503 no_healthy_upstream). These tests are about validation, so probe rarely, with 2 s.
const HEALTH = { check_interval: '5s' };

function chatCount(stats) { return stats.by_path?.['/v1/chat/completions'] ?? 0; }

after(async () => { await stopAll(); });

// ---------------------------------------------------------------------------------------------------
// 1. Counting exactness

test('counting: the canary emits N schema violations out of M, the gateway counts exactly N (and M - N valid)', { timeout: 120_000 }, withLogs(async () => {
  const M = 200;
  const profile = writeProfile('canary-sv30', { seed: 11, slippage: [{ kind: 'schema_violation', p: 0.3 }] });
  const base = await startSim({ model: 'm-fp16', name: 'count-baseline' });
  const canary = await startSim({ model: 'm-int4', name: 'count-canary', profile });
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 100, extra: { health: HEALTH, validation: { enabled: true, on_invalid: 'pass' } },
  }));

  const ids = Array.from({ length: M }, (_, i) => `count-${i}-${Math.random().toString(16).slice(2, 10)}`);
  const results = await pool(M, 16, async (i) => {
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i), { headers: { 'x-request-id': ids[i] } });
    assert.equal(r.status, 200, `request ${i}: ${r.text.slice(0, 300)}`);
    assert.equal(r.headers.get('x-request-id'), ids[i]);
    assert.equal(r.headers.get('x-slipway-variant'), 'canary', `request ${i} was not answered by the canary`);
    const slipped = (r.headers.get('x-sim-slip-applied') ?? '').split(',').map((s) => s.trim()).includes('schema_violation');
    return { id: ids[i], slipped, check: checkContent(r.json, ORDER_SCHEMA) };
  });

  // The simulator's own account and the independent check of the content agree.
  for (const r of results) {
    assert.equal(!r.check.ok, r.slipped,
      `request ${r.id}: x-sim-slip-applied says ${r.slipped ? '' : 'no '}schema_violation, the content check says ${JSON.stringify(r.check.errors)}`);
  }
  const invalid = new Set(results.filter((r) => !r.check.ok).map((r) => r.id));
  const N = invalid.size;
  // Binomial(200, 0.3): mean 60, sd 6.5. [35, 85] is ~4 sd.
  assert.ok(N >= 35 && N <= 85, `N = ${N} schema violations out of ${M} with p = 0.3`);

  const lines = await requestLines(gw, ids);
  let logInvalid = 0;
  let logValid = 0;
  for (const id of ids) {
    const l = lines.get(id);
    assert.equal(l.variant, 'canary', `log line of ${id}: ${JSON.stringify(l)}`);
    assert.equal(l.status, 200);
    assert.equal(l.fallback, undefined, `no fallback with on_invalid: pass: ${JSON.stringify(l)}`);
    if (invalid.has(id)) {
      assert.equal(l.valid, false, `the canary's invalid answer ${id} is logged as valid: ${JSON.stringify(l)}`);
      assert.ok((l.findings ?? []).includes('schema_violation'), `no schema_violation finding for ${id}: ${JSON.stringify(l)}`);
      logInvalid++;
    } else {
      assert.equal(l.valid, true, `a schema-valid answer ${id} is logged as invalid: ${JSON.stringify(l)}`);
      assert.ok(!(l.findings ?? []).includes('schema_violation'), `a false schema_violation for ${id}: ${JSON.stringify(l)}`);
      logValid++;
    }
  }
  const logged = [...lines.values()];
  assert.equal(logged.filter((l) => l.variant === 'canary' && (l.findings ?? []).includes('schema_violation')).length, N);
  assert.equal(logged.filter((l) => l.valid === true).length, M - N);
  assert.equal(logInvalid + logValid, M);
  await gw.stop();
}));

// ---------------------------------------------------------------------------------------------------
// 2. Fallback: the client sees only valid answers; the fallbacks are exactly the canary's invalid answers.

test('fallback: with on_invalid fallback (route) the client gets only schema-valid answers; fallbacks = the canary\'s invalid answers', { timeout: 120_000 }, withLogs(async () => {
  const M = 80;
  const profile = writeProfile('canary-sv60', { seed: 5, slippage: [{ kind: 'schema_violation', p: 0.6 }] });
  const base = await startSim({ model: 'm-fp16', name: 'fb-baseline' });
  const canary = await startSim({ model: 'm-int4', name: 'fb-canary', profile });
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 100,
    extra: {
      health: HEALTH,
      validation: { enabled: true, on_invalid: 'pass' },
      routes: [{ name: 'strict-json', match: { header: { name: 'x-client', values: ['strict'] } }, on_invalid: 'fallback' }],
    },
  }));
  const baseBefore = chatCount(await base.stats());
  const canaryBefore = chatCount(await canary.stats());

  const ids = Array.from({ length: M }, (_, i) => `fb-${i}-${Math.random().toString(16).slice(2, 10)}`);
  const results = await pool(M, 8, async (i) => {
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i),
      { headers: { 'x-request-id': ids[i], 'x-client': 'strict' } });
    assert.equal(r.status, 200, `request ${i}: ${r.text.slice(0, 300)}`);
    const c = checkContent(r.json, ORDER_SCHEMA);
    assert.ok(c.ok, `the client received a schema-invalid answer for ${ids[i]} (variant ${r.headers.get('x-slipway-variant')}): ${JSON.stringify(c.errors)} in ${r.json?.choices?.[0]?.message?.content}`);
    return { id: ids[i], variant: r.headers.get('x-slipway-variant'), model: r.json.model };
  });

  // What the canary answered for each request: it is deterministic given the body and x-request-id, so ask
  // it directly with the body the gateway sent (model rewritten to the served name).
  const canaryInvalid = new Set();
  await pool(M, 8, async (i) => {
    const d = await postJson(`${canary.url}/v1/chat/completions`, schemaRequest('m-int4', i), { headers: { 'x-request-id': ids[i] } });
    assert.equal(d.status, 200);
    if (!checkContent(d.json, ORDER_SCHEMA).ok) canaryInvalid.add(ids[i]);
  });
  const N = canaryInvalid.size;
  assert.ok(N >= 30 && N <= 70, `the canary gave ${N} invalid answers out of ${M} with p = 0.6`);

  for (const r of results) {
    const expected = canaryInvalid.has(r.id) ? 'baseline' : 'canary';
    assert.equal(r.variant, expected, `x-slipway-variant of ${r.id}`);
    assert.equal(r.model, expected === 'baseline' ? 'm-fp16' : 'm-int4', `the answer of ${r.id} came from the other backend`);
  }

  const lines = await requestLines(gw, ids);
  const fallbacks = [...lines.values()].filter((l) => l.fallback !== undefined);
  assert.equal(fallbacks.length, N, `fallback lines ${fallbacks.length}, canary invalid answers ${N}`);
  for (const id of ids) {
    const l = lines.get(id);
    if (canaryInvalid.has(id)) {
      assert.equal(l.fallback, 'canary_invalid', JSON.stringify(l));
      assert.equal(l.answered_by, 'baseline', JSON.stringify(l));
      assert.equal(l.variant, 'canary', JSON.stringify(l));
      assert.ok((l.canary_findings ?? []).includes('schema_violation'), `canary_findings: ${JSON.stringify(l)}`);
      assert.equal(l.valid, true, `the baseline's answer is logged as invalid: ${JSON.stringify(l)}`);
    } else {
      assert.equal(l.fallback, undefined, `a valid canary answer fell back: ${JSON.stringify(l)}`);
      assert.equal(l.valid, true, JSON.stringify(l));
    }
  }
  // Every request asked the canary once; the baseline only for the fallbacks (+ our direct canary calls).
  assert.equal(chatCount(await canary.stats()) - canaryBefore, M + M);
  assert.equal(chatCount(await base.stats()) - baseBefore, N);

  // Streams are relayed as they come, so they cannot fall back on an invalid answer; their verdict is still
  // recorded (valid: false for the slipped ones, counted against the canary).
  const streamIds = Array.from({ length: 20 }, (_, i) => `fbs-${i}-${Math.random().toString(16).slice(2, 10)}`);
  let streamedInvalid = 0;
  await pool(streamIds.length, 4, async (i) => {
    const r = await streamVia(gw, schemaRequest('m', 2000 + i), { 'x-request-id': streamIds[i], 'x-client': 'strict' });
    assert.equal(r.status, 200);
    assert.equal(r.stream.done, true);
    assert.equal(r.headers.get('x-slipway-variant'), 'canary');
    let ok = true;
    try { ok = check(ORDER_SCHEMA, JSON.parse(r.stream.content)).length === 0; } catch { ok = false; }
    if (!ok) streamedInvalid++;
    return ok;
  });
  assert.ok(streamedInvalid > 0, 'no invalid streamed canary answer in 20 with p = 0.6');
  const streamLines = await requestLines(gw, streamIds);
  assert.equal([...streamLines.values()].filter((l) => l.valid === false && (l.findings ?? []).includes('schema_violation')).length, streamedInvalid);
  assert.equal([...streamLines.values()].filter((l) => l.valid === true).length, streamIds.length - streamedInvalid);

  // Without the route header the policy is `pass`: invalid canary answers reach the client, no fallback.
  const passIds = Array.from({ length: 30 }, (_, i) => `fbpass-${i}-${Math.random().toString(16).slice(2, 10)}`);
  let passedInvalid = 0;
  await pool(passIds.length, 8, async (i) => {
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', 1000 + i), { headers: { 'x-request-id': passIds[i] } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-slipway-variant'), 'canary');
    if (!checkContent(r.json, ORDER_SCHEMA).ok) passedInvalid++;
  });
  assert.ok(passedInvalid > 0, 'no invalid canary answer in 30 requests with p = 0.6 (the route is not what filters them?)');
  const passLines = await requestLines(gw, passIds);
  assert.equal([...passLines.values()].filter((l) => l.fallback !== undefined).length, 0, 'fallback without the route');
  assert.equal([...passLines.values()].filter((l) => l.valid === false).length, passedInvalid);
  await gw.stop();
}));

// ---------------------------------------------------------------------------------------------------
// 3. Reject

test('reject: a failing answer becomes 502 response_validation_failed naming the finding kind and its JSON pointer', { timeout: 60_000 }, withLogs(async () => {
  const canary = await startSim({ model: 'm-int4', name: 'rej-canary' });
  const base = await startSim({ model: 'm-fp16', name: 'rej-baseline' });
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 100, extra: { health: HEALTH, validation: { enabled: true, on_invalid: 'reject' } },
  }));
  const ids = Array.from({ length: 8 }, (_, i) => `rej-${i}-${Math.random().toString(16).slice(2, 10)}`);
  for (let i = 0; i < ids.length; i++) {
    const headers = { 'x-request-id': ids[i], 'x-sim-slip': 'schema_violation' };
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i), { headers });
    const e = expectOpenAIError(assert, r, { status: 502, code: 'response_validation_failed' });
    // What the canary said (same body as the gateway sent, same id): where it violates the schema.
    const d = await postJson(`${canary.url}/v1/chat/completions`, schemaRequest('m-int4', i), { headers });
    assert.equal(d.status, 200);
    const c = checkContent(d.json, ORDER_SCHEMA);
    assert.ok(!c.ok, `the simulator's slipped answer is valid: ${d.json.choices[0].message.content}`);
    assert.match(e.message, /schema_violation: \//, `the message does not name the kind and a pointer: ${e.message}`);
    const m = /schema_violation: (\/[^\s:]*)/.exec(e.message);
    const pointers = c.errors.map((x) => x.path);
    assert.ok(pointers.includes(m[1]),
      `the pointer in "${e.message}" is not where the answer violates the schema (${JSON.stringify(c.errors)}; content ${d.json.choices[0].message.content})`);
  }
  // A tool call with a wrongly typed argument: rejected, naming the kind and the argument's pointer.
  {
    const b = chat('m', 'Weather in Lyon?', { tools: WEATHER_TOOLS, tool_choice: 'required' });
    const r = await postJson(`${gw.base}/chat/completions`, b, { headers: { 'x-request-id': 'rej-tool', 'x-sim-slip': 'tool_wrong_type' } });
    const e = expectOpenAIError(assert, r, { status: 502, code: 'response_validation_failed' });
    const d = await postJson(`${canary.url}/v1/chat/completions`, { ...b, model: 'm-int4' }, { headers: { 'x-request-id': 'rej-tool', 'x-sim-slip': 'tool_wrong_type' } });
    const args = JSON.parse(d.json.choices[0].message.tool_calls[0].function.arguments);
    const errs = check(WEATHER_TOOLS[0].function.parameters, args);
    assert.ok(errs.length > 0, `the slipped arguments are valid: ${JSON.stringify(args)}`);
    assert.match(e.message, /tool_args_schema_violation/, e.message);
    assert.ok(errs.some((x) => e.message.includes(`${x.path}:`)), `"${e.message}" does not name ${JSON.stringify(errs)}`);
  }
  // A valid answer passes untouched under reject.
  const ok = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', 99), { headers: { 'x-request-id': 'rej-ok' } });
  assert.equal(ok.status, 200);
  assert.ok(checkContent(ok.json, ORDER_SCHEMA).ok);

  const lines = await requestLines(gw, [...ids, 'rej-ok']);
  for (const id of ids) {
    const l = lines.get(id);
    assert.equal(l.status, 502, JSON.stringify(l));
    assert.equal(l.valid, false, JSON.stringify(l));
    assert.ok((l.findings ?? []).includes('schema_violation'), JSON.stringify(l));
  }
  assert.equal(lines.get('rej-ok').valid, true);
  await gw.stop();
}));

// ---------------------------------------------------------------------------------------------------
// 4. Canary down or 5xx, with fallback

async function streamVia(gw, body, headers = {}) {
  const r = await fetch(`${gw.base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: r.status, headers: r.headers, stream: r.status === 200 ? await readChatStream(r) : await r.text() };
}

test('a canary that is down (closed port) falls back to the baseline, streaming and not', { timeout: 60_000 }, withLogs(async () => {
  const base = await startSim({ model: 'm-fp16', name: 'down-baseline' });
  const port = await closedPort();
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary: { model: 'm-int4', endpoint: `127.0.0.1:${port}` }, weight: 100,
    extra: { health: HEALTH, validation: { enabled: true, on_invalid: 'fallback' }, timeouts: { connect: '500ms' } },
  }));
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const id = `down-ns-${i}`;
    ids.push(id);
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i), { headers: { 'x-request-id': id } });
    assert.equal(r.status, 200, `non-streaming with the canary down: ${r.text.slice(0, 300)}`);
    assert.equal(r.headers.get('x-slipway-variant'), 'baseline');
    assert.equal(r.json.model, 'm-fp16');
    assert.ok(checkContent(r.json, ORDER_SCHEMA).ok);
  }
  for (let i = 0; i < 4; i++) {
    const id = `down-s-${i}`;
    ids.push(id);
    const r = await streamVia(gw, chat('m', 'Tell me a story.'), { 'x-request-id': id });
    assert.equal(r.status, 200, `streaming with the canary down: ${String(r.stream).slice(0, 300)}`);
    assert.equal(r.headers.get('x-slipway-variant'), 'baseline');
    assert.equal(r.stream.done, true, 'the fallen-back stream has no [DONE]');
    assert.deepEqual(r.stream.errors, []);
    assert.ok(r.stream.content.length > 0);
    assert.equal(r.stream.chunks[0].model, 'm-fp16');
  }
  const lines = await requestLines(gw, ids);
  for (const id of ids) {
    const l = lines.get(id);
    assert.equal(l.variant, 'canary', JSON.stringify(l));
    assert.equal(l.answered_by, 'baseline', JSON.stringify(l));
    assert.match(String(l.fallback), /^canary_/, JSON.stringify(l));
    assert.equal(l.status, 200, JSON.stringify(l));
  }
  await gw.stop();
}));

test('a canary answering 503 (or 500) falls back to the baseline, streaming and not', { timeout: 60_000 }, withLogs(async () => {
  const profile = writeProfile('canary-503', { faults: [{ kind: 'http_503', p: 1 }] });
  const base = await startSim({ model: 'm-fp16', name: '5xx-baseline' });
  const canary = await startSim({ model: 'm-int4', name: '5xx-canary', profile });
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 100,
    extra: {
      validation: { enabled: true, on_invalid: 'pass' },
      routes: [{ name: 'fb', match: { header: { name: 'x-client', values: ['strict'] } }, on_invalid: 'fallback' }],
      health: { ...HEALTH, eject_after_failures: 1000000 },
    },
  }));
  // Control: under `pass` the client sees the canary's 503.
  const pass = await postJson(`${gw.base}/chat/completions`, chat('m', 'hi'), { headers: { 'x-request-id': '5xx-pass' } });
  assert.equal(pass.status, 503, `the canary's 503 under pass: ${pass.text.slice(0, 200)}`);

  const ids = [];
  const h = (id) => ({ 'x-request-id': id, 'x-client': 'strict' });
  for (let i = 0; i < 3; i++) {
    const id = `5xx-ns-${i}`;
    ids.push(id);
    const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i), { headers: h(id) });
    assert.equal(r.status, 200, `non-streaming, canary 503: ${r.text.slice(0, 300)}`);
    assert.equal(r.headers.get('x-slipway-variant'), 'baseline');
    assert.equal(r.json.model, 'm-fp16');
  }
  for (let i = 0; i < 3; i++) {
    const id = `5xx-s-${i}`;
    ids.push(id);
    const r = await streamVia(gw, chat('m', `Tell me story ${i}.`), h(id));
    assert.equal(r.status, 200, `streaming, canary 503: ${String(r.stream).slice(0, 300)}`);
    assert.equal(r.headers.get('x-slipway-variant'), 'baseline');
    assert.equal(r.stream.done, true);
    assert.deepEqual(r.stream.errors, []);
  }
  const lines = await requestLines(gw, [...ids, '5xx-pass']);
  for (const id of ids) {
    const l = lines.get(id);
    assert.equal(l.answered_by, 'baseline', JSON.stringify(l));
    assert.match(String(l.fallback), /^canary_/, JSON.stringify(l));
    assert.equal(l.status, 200, JSON.stringify(l));
  }
  assert.equal(lines.get('5xx-pass').fallback, undefined);
  await gw.stop();
}));

test('a canary that accepts but never answers (first-byte timeout) falls back to the baseline, streaming and not', { timeout: 60_000 }, withLogs(async () => {
  // A black hole: accepts connections, reads, never writes (the simulator's faults all send the stream's
  // response header at once, so they cannot make a stream time out before its first byte).
  const sockets = new Set();
  const hole = net.createServer((sock) => { sockets.add(sock); sock.on('data', () => {}); sock.on('error', () => {}); sock.on('close', () => sockets.delete(sock)); });
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  try {
    const base = await startSim({ model: 'm-fp16', name: 'hole-baseline' });
    const gw = await startGateway(modelConfig({
      name: 'm', baseline: base, canary: { model: 'm-int4', endpoint: `127.0.0.1:${hole.address().port}` }, weight: 100,
      extra: {
        validation: { enabled: true, on_invalid: 'fallback' },
        timeouts: { first_byte: '400ms' },
        // No active check (it would take the black hole out of rotation: a different path), no ejection.
        health: { check_interval: '0s', eject_after_failures: 1000000 },
      },
    }), { waitReady: false });
    const ids = [];
    const t0 = performance.now();
    for (let i = 0; i < 2; i++) {
      ids.push(`hole-ns-${i}`);
      const r = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', i), { headers: { 'x-request-id': `hole-ns-${i}` } });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal(r.headers.get('x-slipway-variant'), 'baseline');
      assert.ok(checkContent(r.json, ORDER_SCHEMA).ok);
      ids.push(`hole-s-${i}`);
      const s = await streamVia(gw, chat('m', `A story ${i}.`), { 'x-request-id': `hole-s-${i}` });
      assert.equal(s.status, 200, String(s.stream).slice(0, 300));
      assert.equal(s.headers.get('x-slipway-variant'), 'baseline');
      assert.equal(s.stream.done, true);
      assert.deepEqual(s.stream.errors, []);
    }
    assert.ok(performance.now() - t0 < 4 * 3000, 'the fallbacks took too long');
    const lines = await requestLines(gw, ids);
    for (const id of ids) {
      const l = lines.get(id);
      assert.equal(l.answered_by, 'baseline', JSON.stringify(l));
      assert.equal(l.fallback, 'canary_first_byte_timeout', JSON.stringify(l));
      assert.equal(l.status, 200, JSON.stringify(l));
    }
    await gw.stop();
  } finally {
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => hole.close(r));
  }
}));

// ---------------------------------------------------------------------------------------------------
// 5. Streaming and non-streaming give the same verdict on tool calls

test('tool calls: streamed and non-streamed answers get the same verdict, slip by slip', { timeout: 90_000 }, withLogs(async () => {
  const base = await startSim({ model: 'm-fp16', name: 'tools-baseline' });
  const gw = await startGateway(modelConfig({ name: 'm', baseline: base, extra: { health: HEALTH, validation: { enabled: true, on_invalid: 'pass' } } }));
  const cases = [
    { slip: null, expect: [] },
    { slip: 'tool_wrong_type', expect: ['tool_args_schema_violation'] },
    { slip: 'tool_missing_required', expect: ['tool_args_schema_violation'] },
    { slip: 'tool_unknown_function', expect: ['tool_unknown_function'] },
    { slip: 'tool_in_content', expect: ['tool_call_in_content'] },
    { slip: 'tool_empty_args', expect: ['tool_args_schema_violation'] },
    { slip: 'tool_bad_json', expect: ['tool_args_invalid_json'] },
  ];
  const body = (k) => chat('m', `What is the weather in city ${k}?`, { tools: WEATHER_TOOLS, tool_choice: 'auto', parallel_tool_calls: false });
  const pairs = [];
  for (const c of cases) {
    for (let k = 0; k < 3; k++) {
      const tag = `${c.slip ?? 'valid'}-${k}`;
      const headers = c.slip ? { 'x-sim-slip': c.slip } : {};
      // A valid case needs a call: tool_choice auto calls with p = 0.7; ask `required` then.
      const b = c.slip ? body(k) : { ...body(k), tool_choice: 'required' };
      const ns = await postJson(`${gw.base}/chat/completions`, b, { headers: { ...headers, 'x-request-id': `tools-ns-${tag}` } });
      assert.equal(ns.status, 200, ns.text.slice(0, 300));
      const st = await streamVia(gw, b, { ...headers, 'x-request-id': `tools-s-${tag}` });
      assert.equal(st.status, 200);
      assert.equal(st.stream.done, true);
      // What the client got, checked here.
      const msg = ns.json.choices[0].message;
      if (c.slip === 'tool_in_content') {
        assert.match(msg.content ?? '', /<tool_call>/);
        assert.match(st.stream.content, /<tool_call>/);
        assert.equal(st.stream.tool_calls.length, 0);
      } else {
        assert.equal(msg.tool_calls?.length, 1, `non-streamed ${tag}: ${JSON.stringify(msg)}`);
        assert.equal(st.stream.tool_calls.length, 1, `streamed ${tag}`);
        for (const call of [msg.tool_calls[0], st.stream.tool_calls[0]]) {
          if (c.slip === 'tool_unknown_function') assert.equal(call.function.name, 'get_weather_v2');
          else assert.equal(call.function.name, 'get_weather');
          if (c.slip === null) assert.deepEqual(check(WEATHER_TOOLS[0].function.parameters, JSON.parse(call.function.arguments)), []);
        }
      }
      pairs.push({ c, tag });
    }
  }
  const ids = pairs.flatMap(({ tag }) => [`tools-ns-${tag}`, `tools-s-${tag}`]);
  const lines = await requestLines(gw, ids);
  const mismatches = [];
  for (const { c, tag } of pairs) {
    const a = lines.get(`tools-ns-${tag}`);
    const b = lines.get(`tools-s-${tag}`);
    assert.equal(a.stream, false);
    assert.equal(b.stream, true);
    const fa = kinds(a.findings).filter((k) => k !== 'refusal' && k !== 'truncated');
    const fb = kinds(b.findings).filter((k) => k !== 'refusal' && k !== 'truncated');
    if (JSON.stringify(fa) !== JSON.stringify(fb) || a.valid !== b.valid) {
      mismatches.push(`${tag}: non-streamed valid=${a.valid} ${JSON.stringify(fa)} vs streamed valid=${b.valid} ${JSON.stringify(fb)}`);
    }
    for (const l of [a, b]) {
      const f = kinds(l.findings);
      if (c.slip === null) {
        assert.equal(l.valid, true, `valid tool call judged invalid (${tag}): ${JSON.stringify(l)}`);
        assert.equal(l.tool_calls, 1);
        assert.equal(l.tool_calls_valid, 1);
      } else {
        assert.equal(l.valid, false, `${c.slip} judged valid (${tag}, stream ${l.stream}): ${JSON.stringify(l)}`);
        for (const k of c.expect) assert.ok(f.includes(k), `${c.slip} (${tag}, stream ${l.stream}): findings ${JSON.stringify(f)} lack ${k}`);
      }
    }
  }
  assert.deepEqual(mismatches, [], 'streamed and non-streamed verdicts differ');
  await gw.stop();
}));

// ---------------------------------------------------------------------------------------------------
// 6. Request bounds: 400 before any backend is asked

test('request bounds: too deep, too large, or a non-RE2 pattern is a 400 with a param, and no backend is asked', { timeout: 60_000 }, withLogs(async () => {
  const base = await startSim({ model: 'm-fp16', name: 'bounds-baseline' });
  const canary = await startSim({ model: 'm-int4', name: 'bounds-canary' });
  const gw = await startGateway(modelConfig({ name: 'm', baseline: base, canary, weight: 50, extra: { health: HEALTH, validation: { enabled: true } } }));

  const nested = (depth) => {
    let s = { type: 'string' };
    for (let i = 0; i < depth; i++) s = { type: 'object', properties: { a: s }, required: ['a'] };
    return s;
  };
  const rf = (schema) => ({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
  const big = { type: 'object', description: 'x'.repeat(70 * 1024), properties: { a: { type: 'string' } } };
  const manyProps = { type: 'object', properties: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`property_number_${i}_with_a_long_name`, { type: 'string' }])) };
  const cases = [
    // Deeper than the request's JSON depth limit (64): refused at parse time as a whole-body error.
    { what: 'schema nested 201 deep', body: chat('m', 'x', rf(nested(100))), code: 'json_too_deep' },
    { what: 'schema nested 41 deep (schema depth limit 32, request JSON depth limit 64 not reached)', body: chat('m', 'x', rf(nested(20))), param: /response_format/ },
    { what: 'schema over 64 KiB (one long description)', body: chat('m', 'x', rf(big)), param: /response_format/ },
    { what: 'schema over 64 KiB (many properties)', body: chat('m', 'x', rf(manyProps)), param: /response_format/ },
    { what: 'pattern with a backreference', body: chat('m', 'x', rf({ type: 'object', properties: { s: { type: 'string', pattern: '(a)\\1' } } })), param: /response_format/ },
    { what: 'pattern with a look-ahead', body: chat('m', 'x', rf({ type: 'string', pattern: '^(?=a)a$' })), param: /response_format/ },
    { what: 'guided_json with a backreference', body: chat('m', 'x', { guided_json: { type: 'string', pattern: '(a)\\1' } }), param: /guided_json/ },
    {
      what: 'tool parameters with a backreference',
      body: chat('m', 'x', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { s: { type: 'string', pattern: '(x+)\\1' } } } } }] }),
      param: /tools/,
    },
  ];
  // nested(n) gives 2n+1 levels of JSON nesting below the schema (object -> properties -> a ...).
  const before = [chatCount(await base.stats()), chatCount(await canary.stats())];
  const problems = [];
  for (const c of cases) {
    const r = await postJson(`${gw.base}/chat/completions`, c.body, { headers: { 'x-request-id': `bounds-${c.what.replace(/\W+/g, '-')}` } });
    try {
      const e = expectOpenAIError(assert, r, { status: 400, code: c.code });
      if (c.param) {
        assert.equal(typeof e.param, 'string', `param of "${c.what}": ${JSON.stringify(e)}`);
        assert.match(e.param, c.param, `param of "${c.what}": ${JSON.stringify(e)}`);
      }
    } catch (err) {
      problems.push(`${c.what}: ${err.message.split('\n')[0]}`);
    }
  }
  // With a request depth limit that lets a 201-deep schema through the parser, the schema bound names it.
  const gwDeep = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 50, extra: { health: HEALTH, validation: { enabled: true }, limits: { max_json_depth: 512 } },
  }));
  {
    const r = await postJson(`${gwDeep.base}/chat/completions`, chat('m', 'x', rf(nested(100))));
    try {
      const e = expectOpenAIError(assert, r, { status: 400 });
      assert.match(String(e.param), /response_format/, `param: ${JSON.stringify(e)}`);
      assert.match(e.message, /deeper than 32/, `message: ${e.message}`);
    } catch (err) {
      problems.push(`schema nested 201 deep, max_json_depth 512: ${err.message.split('\n')[0]}`);
    }
  }
  await gwDeep.stop();
  const afterCounts = [chatCount(await base.stats()), chatCount(await canary.stats())];
  assert.deepEqual(problems, []);
  assert.deepEqual(afterCounts, before, 'a request over a bound reached a backend');
  // Control: a valid schema request does reach a backend (the counters above do move).
  const ok = await postJson(`${gw.base}/chat/completions`, schemaRequest('m', 1));
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
  const after2 = [chatCount(await base.stats()), chatCount(await canary.stats())];
  assert.equal(after2[0] + after2[1], before[0] + before[1] + 1);
  await gw.stop();
}));

// ---------------------------------------------------------------------------------------------------
// 7. Validation never changes a passing response

// The simulator's answers are deterministic given the body and x-request-id, except `created` (its clock, in
// seconds): the two calls may straddle a second. Everything else must be the same bytes.
function assertSameBytes(viaGateway, direct, what) {
  const created = (t) => [...t.matchAll(/"created":(\d+)/g)].map((m) => Number(m[1]));
  const a = created(viaGateway);
  const b = created(direct);
  assert.equal(a.length, b.length, `${what}: number of "created" fields`);
  assert.ok(a.every((x, i) => Math.abs(x - b[i]) <= 2), `${what}: "created" ${a} vs ${b}`);
  const norm = (t) => t.replace(/"created":\d+/g, '"created":0');
  assert.equal(norm(viaGateway), norm(direct), `${what}: the gateway's body differs from the backend's`);
}

test('a passing answer is relayed byte for byte as the backend sends it (non-streaming and streaming)', { timeout: 60_000 }, withLogs(async () => {
  const base = await startSim({ model: 'm-fp16', name: 'bytes-baseline' });
  const canary = await startSim({ model: 'm-int4', name: 'bytes-canary' });
  // Canary at 100 with fallback: the answer is held, validated, and (passing) sent on.
  const gw = await startGateway(modelConfig({
    name: 'm', baseline: base, canary, weight: 100, extra: { health: HEALTH, validation: { enabled: true, on_invalid: 'fallback' } },
  }));
  const bodies = [
    ['schema', (model) => schemaRequest(model, 7)],
    ['json-object', (model) => chat(model, 'Give me JSON.', { response_format: { type: 'json_object' } })],
    ['tools', (model) => chat(model, 'Weather in Paris?', { tools: WEATHER_TOOLS, tool_choice: 'required' })],
    ['text', (model) => chat(model, 'Tell me a story.')],
    ['guided', (model) => chat(model, 'Order?', { guided_json: ORDER_SCHEMA })],
  ];
  const ids = [];
  for (const [name, make] of bodies) {
    for (let k = 0; k < 2; k++) {
      const id = `bytes-${name}-${k}`;
      ids.push(id);
      const viaGw = await postJson(`${gw.base}/chat/completions`, make('m'), { headers: { 'x-request-id': id } });
      const direct = await postJson(`${canary.url}/v1/chat/completions`, make('m-int4'), { headers: { 'x-request-id': id } });
      assert.equal(viaGw.status, 200, viaGw.text.slice(0, 300));
      assert.equal(direct.status, 200);
      assert.equal(viaGw.headers.get('x-slipway-variant'), 'canary');
      assertSameBytes(viaGw.text, direct.text, name);
      assert.equal(viaGw.headers.get('content-type'), direct.headers.get('content-type'));
    }
    // Streaming, with usage asked by the client (so the gateway has nothing of its own to strip).
    const id = `bytes-${name}-stream`;
    ids.push(id);
    const mk = (model) => JSON.stringify({ ...make(model), stream: true, stream_options: { include_usage: true } });
    const g = await fetch(`${gw.base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: mk('m'), signal: AbortSignal.timeout(20_000) });
    const gText = await g.text();
    const d = await fetch(`${canary.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: mk('m-int4'), signal: AbortSignal.timeout(20_000) });
    const dText = await d.text();
    assert.equal(g.status, 200);
    assertSameBytes(gText, dText, `${name} (stream)`);
  }
  const lines = await requestLines(gw, ids);
  for (const id of ids) {
    const l = lines.get(id);
    assert.equal(l.valid, true, `${id} was not judged valid: ${JSON.stringify(l)}`);
    assert.equal(l.fallback, undefined, JSON.stringify(l));
  }
  await gw.stop();
}));
