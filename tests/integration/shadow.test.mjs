// Shadow comparison (docs/shadow.md). Two simulators serving the same model name: the baseline answers at
// once; the canary takes 300 ms to its first token and, on the "tools" slice only, gives a tool argument
// the wrong type when the request carries `x-slip: slip` (a known quarter of the tools requests). The canary's
// weight is 0, and every baseline request is shadowed (sample 1.0). Checked: every client answer is the
// baseline's, and fast (the client never waits for the canary); the canary received one non-streaming copy
// of every request, marked x-slipway-shadow; the agreement metrics show disagreement on the tools slice at
// the known fraction and none on the json_schema slice (half of whose requests were streams, mirrored as
// non-streaming); the canary has no user traffic in slipway_requests_total; the shadow_disagreement_rate
// trigger rolls back on the tools slice; and with max_inflight 1 a burst drops shadows as dropped_full.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, startGateway, modelConfig, stopAll, postJson, pool, tmpDir, waitFor, sleep } from '../lib/harness.mjs';

const N_TOOLS = 160;         // every 4th carries x-slip: slip -> the canary's arguments are wrong
const N_JSON = 80;           // every 2nd is a stream
const CANARY_TTFT_MS = 300;

let baseline, canary, dir;
let shadowedP50;   // client p50 of the first test, with every request shadowed

/** Sum of the samples of `name` whose labels include every pair of `labels` (undefined when none). */
function metricValue(text, name, labels = {}) {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === String(v))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : undefined;
}

// The same rule shape in both profiles keeps the two simulators' random draws in step (the answer is
// deterministic for the body, the request id and the draws), so an unslipped canary answer equals the
// baseline's; only the canary's rule can match.
function slipProfile(value) {
  return ['slippage:', '  - kind: tool_wrong_type', '    p: 1.0', `    when: {header: {name: x-slip, value: ${value}}}`, ''].join('\n');
}

function toolsBody(i) {
  return {
    model: 'm',
    messages: [{ role: 'user', content: `Weather for city number ${i}?` }],
    tools: [{
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
          required: ['city', 'days'],
          additionalProperties: false,
        },
      },
    }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  };
}

// The schema admits one instance only, so a stream mirrored as a non-streaming request (another body, so
// other random draws) still has the same content.
function jsonBody(i, stream) {
  return {
    model: 'm',
    stream,
    messages: [{ role: 'user', content: `Status of job ${i}?` }],
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'status',
        schema: {
          type: 'object',
          properties: { status: { const: 'ok' }, code: { enum: [200] } },
          required: ['status', 'code'],
          additionalProperties: false,
        },
      },
    },
  };
}

function config({ maxInflight, rollout, shadow = true }) {
  const cfg = modelConfig({
    name: 'm', baseline, canary, weight: 0,
    extra: {
      admin: { address: '127.0.0.1', port: 0 },
      state_dir: dir,
      rollout_evaluate_every: '200ms',
      slices: [
        { name: 'tools', tools_at_least: 1 },
        { name: 'json_schema', response_format: 'json_schema' },
      ],
    },
  });
  if (shadow) cfg.models[0].shadow = { sample: 1.0, max_inflight: maxInflight };
  if (rollout) {
    cfg.models[0].rollout = {
      revision: 'r1',
      bucket: '1s',
      // 40 disagreements in 160 against 5 points tolerated: p = 0.009 at the end of the run, under this
      // trigger's threshold of 0.1 / 6 (confidence 0.9 per hour, a new test every 10 min).
      triggers: [{ name: 'shadow_tools', sli: 'shadow_disagreement_rate', slice: 'tools', window: '20m', min_samples: 100,
                   confidence: 0.9, tolerance: { absolute: 0.05 } }],
    };
  }
  return cfg;
}

async function startWithAdmin(cfg) {
  const gw = await startGateway(cfg);
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  gw.metricsUrl = `http://127.0.0.1:${Number(ev.port)}/metrics`;
  gw.scrape = async () => (await fetch(gw.metricsUrl)).text();
  return gw;
}

async function timedStream(url, body) {
  const t0 = performance.now();
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, ms: performance.now() - t0 };
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

before(async () => {
  dir = tmpDir();
  const bp = path.join(dir, 'baseline.yaml');
  const cp = path.join(dir, 'canary.yaml');
  fs.writeFileSync(bp, slipProfile('never'));
  fs.writeFileSync(cp, slipProfile('slip'));
  baseline = await startSim({ model: 'm', name: 'baseline', profile: bp, ttftMs: 0, tokenMs: 0, outputTokens: 8 });
  canary = await startSim({ model: 'm', name: 'canary', profile: cp, ttftMs: CANARY_TTFT_MS, tokenMs: 0, outputTokens: 8, args: ['--log-requests'] });
});

after(async () => { await stopAll(); });

test('shadow: clients get the baseline at its speed; the canary answers in the background; agreement per slice', async () => {
  const gw = await startWithAdmin(config({ maxInflight: 64, rollout: true }));
  await canary.reset();
  const canaryMark = canary.proc.lines.length;

  // Paced (about 100 requests/s over 4 clients) so that the 300 ms shadows never fill max_inflight 64.
  const kinds = [
    ...Array.from({ length: N_TOOLS }, (_, i) => ({ kind: 'tools', i, slip: i % 4 === 0 })),
    ...Array.from({ length: N_JSON }, (_, i) => ({ kind: 'json', i, stream: i % 2 === 0 })),
  ];
  const url = `${gw.base}/chat/completions`;
  const answers = await pool(kinds.length, 4, async (n) => {
    const k = kinds[n];
    await sleep(40);
    if (k.kind === 'tools') {
      const r = await postJson(url, toolsBody(k.i), { headers: k.slip ? { 'x-slip': 'slip' } : {} });
      return { ...k, status: r.status, variant: r.headers.get('x-slipway-variant'), id: r.headers.get('x-request-id'), ms: r.ms };
    }
    const r = await timedStream(url, jsonBody(k.i, k.stream));
    return { ...k, status: r.status, variant: r.headers.get('x-slipway-variant'), id: r.headers.get('x-request-id'), ms: r.ms,
             sse: r.headers.get('content-type')?.startsWith('text/event-stream') };
  });

  // Every client answer is the baseline's.
  for (const a of answers) {
    assert.equal(a.status, 200, JSON.stringify(a));
    assert.equal(a.variant, 'baseline', JSON.stringify(a));
    if (a.kind === 'json') assert.equal(a.sse, a.stream, 'streams stay streams for the client');
  }
  // The client never waits for the canary (300 ms to its first token).
  const ms = answers.map((a) => a.ms);
  const p50 = quantile(ms, 0.5);
  const p95 = quantile(ms, 0.95);
  console.log(`client latency with shadowing: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (canary ttft ${CANARY_TTFT_MS} ms)`);
  assert.ok(p50 < CANARY_TTFT_MS / 3, `client p50 ${p50} ms is not far below the canary's ${CANARY_TTFT_MS} ms`);
  shadowedP50 = p50;

  // Every shadow is compared (none dropped: paced under max_inflight).
  const total = kinds.length;
  await waitFor(async () => metricValue(await gw.scrape(), 'slipway_shadow_requests_total', { model: 'm', slice: 'all', result: 'compared' }) === total,
    { timeoutMs: 10_000, what: `${total} compared shadows` });
  const text = await gw.scrape();
  const v = (labels, name = 'slipway_shadow_agreement_total') => metricValue(text, name, { model: 'm', ...labels }) ?? 0;
  assert.equal(v({ slice: 'all', result: 'dropped_full' }, 'slipway_shadow_requests_total'), 0);
  assert.equal(v({ slice: 'all', result: 'canary_error' }, 'slipway_shadow_requests_total'), 0);

  // The canary got one copy of each request: non-streaming, marked, with the client's request id.
  const seen = canary.proc.events(canaryMark).filter((e) => e.event === 'request' && e.path === '/v1/chat/completions');
  assert.equal(seen.length, total, 'one mirrored request per client request');
  assert.ok(seen.every((e) => e.stream === false), 'mirrored requests are non-streaming');
  const ids = new Set(answers.map((a) => a.id));
  assert.ok(seen.every((e) => ids.has(e.x_request_id)), 'the shadow carries the client request id');
  const slipped = seen.filter((e) => (e.slips ?? []).includes('tool_wrong_type')).length;
  assert.equal(slipped, N_TOOLS / 4, 'the canary slipped on the marked quarter of the tools requests');
  const stats = await canary.stats();
  assert.equal(stats.completed_streams, 0, 'the canary streamed nothing');
  assert.equal(stats.last_request.headers['x-slipway-shadow'], '1');
  assert.equal(stats.last_request.stream, false);

  // Agreement: the tools slice disagrees at the known fraction, on validity and arguments, not on the choice.
  const toolsValidityFalse = v({ slice: 'tools', aspect: 'validity', agree: 'false' });
  const toolsValidityAll = toolsValidityFalse + v({ slice: 'tools', aspect: 'validity', agree: 'true' });
  const argsFalse = v({ slice: 'tools', aspect: 'tool_arguments', agree: 'false' });
  console.log(`tools slice: validity disagreement ${toolsValidityFalse}/${toolsValidityAll}, arguments ${argsFalse}; canary slipped ${slipped}`);
  assert.equal(toolsValidityAll, N_TOOLS);
  assert.ok(Math.abs(toolsValidityFalse / N_TOOLS - 0.25) <= 0.05, `validity disagreement ${toolsValidityFalse}/${N_TOOLS} is not 25 %`);
  assert.equal(argsFalse, slipped);
  assert.equal(v({ slice: 'tools', aspect: 'tool_choice', agree: 'false' }), 0);
  assert.equal(v({ slice: 'tools', aspect: 'tool_choice', agree: 'true' }), N_TOOLS);
  // The json_schema slice (streams included) agrees on everything.
  for (const aspect of ['validity', 'json_content', 'refusal', 'tool_choice', 'tool_arguments'])
    assert.equal(v({ slice: 'json_schema', aspect, agree: 'false' }), 0, `json_schema slice disagrees on ${aspect}`);
  assert.equal(v({ slice: 'json_schema', aspect: 'json_content', agree: 'true' }), N_JSON);
  assert.equal(metricValue(text, 'slipway_shadow_length_ratio_count', { model: 'm', slice: 'all' }), total);

  // Shadows are not canary traffic.
  const canaryRequests = metricValue(text, 'slipway_requests_total', { model: 'm', variant: 'canary' }) ?? 0;
  assert.equal(canaryRequests, 0);
  assert.equal(metricValue(text, 'slipway_requests_total', { model: 'm', variant: 'baseline', slice: 'all' }), total);

  // The rollback trigger on the shadow's disagreement fires on the tools slice.
  const rb = await gw.proc.waitForEvent('rollback', { timeoutMs: 5000 });
  assert.equal(rb.trigger, 'shadow_tools');
  assert.equal(rb.slice, 'tools');
  assert.equal(rb.sli, 'shadow_disagreement');
  console.log(`rollback: ${JSON.stringify(rb.numbers)}`);
  await gw.stop();
});

test('shadow: a full in-flight budget drops shadows (dropped_full), the clients do not notice', async () => {
  const gw = await startWithAdmin(config({ maxInflight: 1, rollout: false }));
  const url = `${gw.base}/chat/completions`;
  const n = 12;
  const answers = await pool(n, n, (i) => postJson(url, toolsBody(i)));
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-slipway-variant'), 'baseline');
  }
  const counts = async () => {
    const text = await gw.scrape();
    const get = (result) => metricValue(text, 'slipway_shadow_requests_total', { model: 'm', slice: 'all', result }) ?? 0;
    return { compared: get('compared'), dropped: get('dropped_full'), errors: get('canary_error') };
  };
  await waitFor(async () => { const c = await counts(); return c.compared + c.dropped + c.errors === n; },
    { timeoutMs: 10_000, what: 'every shadow compared or dropped' });
  const c = await counts();
  console.log(`max_inflight 1, ${n} concurrent requests: ${JSON.stringify(c)}`);
  assert.ok(c.dropped >= n / 2, `expected most shadows dropped, got ${JSON.stringify(c)}`);
  assert.ok(c.compared >= 1);
  await gw.stop();
});

test('shadow: the same traffic without shadowing has the same client latency (control)', async (t) => {
  if (shadowedP50 === undefined) return t.skip('the shadowed run did not finish');
  const gw = await startWithAdmin(config({ shadow: false }));
  const url = `${gw.base}/chat/completions`;
  const n = 120;
  const answers = await pool(n, 4, async (i) => {
    await sleep(40);
    return i % 2 ? postJson(url, toolsBody(i)) : timedStream(url, jsonBody(i, i % 4 === 0));
  });
  for (const a of answers) assert.equal(a.status, 200);
  const p50 = quantile(answers.map((a) => a.ms), 0.5);
  console.log(`client p50: ${shadowedP50.toFixed(1)} ms with every request shadowed, ${p50.toFixed(1)} ms without shadowing`);
  // Loose on purpose (a shared, loaded machine): the shadowed p50 is within 20 ms of the control's.
  assert.ok(shadowedP50 < p50 + 20, `shadowing slowed the clients: p50 ${shadowedP50} ms vs ${p50} ms`);
  await gw.stop();
});
