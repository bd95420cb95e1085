// The canary split: share within tolerance over 10,000 distinct users, stickiness by body `user` and by the
// sticky header, body `user` wins over the header, unkeyed requests are spread at random, and pinned
// traffic always goes to the baseline. Cross-checked against what each simulator actually served.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, pool,
} from '../lib/harness.mjs';

const USERS = 10_000;
const WEIGHT = 10;
const TOLERANCE_POINTS = 1.2;   // 10% ± 1.2: about 4 standard deviations at n = 10,000
const CONCURRENCY = 24;

let baseline, canary, gw;
const firstVariant = new Map();  // user -> variant from the 10,000-user run

before(async () => {
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 5 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', ...timing });
  gw = await startGateway(modelConfig({
    name: 'm', baseline, canary, weight: WEIGHT,
    extra: { routes: [{ name: 'pinned', match: { header: { name: 'x-tier', values: ['high-stakes'] } }, pin: 'baseline' }] },
  }));
});

after(async () => { await stopAll(); });

const completions = () => `${gw.base}/chat/completions`;

async function ask({ user, headers = {}, content = 'hi' } = {}) {
  const body = chat('m', content, { max_tokens: 5, ...(user !== undefined ? { user } : {}) });
  const r = await postJson(completions(), body, { headers });
  assert.equal(r.status, 200, `request failed: ${r.status} ${r.text.slice(0, 300)}`);
  const v = r.headers.get('x-slipway-variant');
  assert.ok(v === 'baseline' || v === 'canary', `x-slipway-variant: ${v}`);
  return { variant: v, body: r.json };
}

const chatCount = (stats) => stats.by_path?.['/v1/chat/completions'] ?? 0;

test('canary share is 10% ± 1.2 points over 10,000 distinct users, and matches what each backend served', withLogs(async () => {
  const [b0, c0] = await Promise.all([baseline.stats(), canary.stats()]);
  const results = await pool(USERS, CONCURRENCY, async (i) => {
    const user = `user-${i}`;
    const { variant, body } = await ask({ user });
    firstVariant.set(user, variant);
    // The body model is the client-facing name in the answer or the served one; the backend saw the served one.
    return { variant, model: body?.model };
  });
  const canaryCount = results.filter((r) => r.variant === 'canary').length;
  const share = (100 * canaryCount) / USERS;
  assert.ok(Math.abs(share - WEIGHT) <= TOLERANCE_POINTS,
    `canary share ${share.toFixed(2)}% outside ${WEIGHT} ± ${TOLERANCE_POINTS}`);

  const [b1, c1] = await Promise.all([baseline.stats(), canary.stats()]);
  assert.equal(chatCount(c1) - chatCount(c0), canaryCount, 'canary simulator served a different number of requests than the header says');
  assert.equal(chatCount(b1) - chatCount(b0), USERS - canaryCount, 'baseline simulator served a different number of requests than the header says');
  assert.equal(c1.last_request.model, 'm-int4', 'canary request body model was not rewritten to the served model');
  assert.equal(b1.last_request.model, 'm-fp16', 'baseline request body model was not rewritten to the served model');
}));

test('the same user (body "user") always gets the same variant', withLogs(async () => {
  assert.equal(firstVariant.size, USERS, 'the share test must run first');
  // 150 canary users and 150 baseline users, 4 more requests each.
  const users = [...firstVariant.entries()];
  const sample = [
    ...users.filter(([, v]) => v === 'canary').slice(0, 150),
    ...users.filter(([, v]) => v === 'baseline').slice(0, 150),
  ];
  const mismatches = [];
  await pool(sample.length * 4, 16, async (i) => {
    const [user, expected] = sample[i % sample.length];
    const { variant } = await ask({ user, content: `repeat ${i}` });
    if (variant !== expected) mismatches.push(`${user}: ${expected} then ${variant}`);
  });
  assert.deepEqual(mismatches, [], 'users moved between variants');
}));

test('the same user via the x-slipway-user header always gets the same variant, and the share holds', withLogs(async () => {
  const N = 2000;
  const seen = new Map();
  await pool(N * 2, 16, async (i) => {
    const user = `header-user-${i % N}`;
    const { variant } = await ask({ headers: { 'x-slipway-user': user } });
    if (!seen.has(user)) seen.set(user, new Set());
    seen.get(user).add(variant);
  });
  const flappers = [...seen].filter(([, s]) => s.size > 1).map(([u]) => u);
  assert.deepEqual(flappers, [], 'header-keyed users got both variants');
  const canaryUsers = [...seen.values()].filter((s) => s.has('canary')).length;
  const share = (100 * canaryUsers) / N;
  // n = 2000: sd = 0.67 points; ± 3 is about 4.5 sd.
  assert.ok(Math.abs(share - WEIGHT) <= 3, `header-keyed canary share ${share.toFixed(2)}%`);
}));

test('body "user" takes precedence over the sticky header', withLogs(async () => {
  const users = [...firstVariant.entries()];
  const c = users.filter(([, v]) => v === 'canary').slice(0, 20).map(([u]) => u);
  const b = users.filter(([, v]) => v === 'baseline').slice(0, 20).map(([u]) => u);
  for (let i = 0; i < 20; i++) {
    assert.equal((await ask({ user: c[i], headers: { 'x-slipway-user': b[i] } })).variant, 'canary', `body user ${c[i]} (canary) with header ${b[i]}`);
    assert.equal((await ask({ user: b[i], headers: { 'x-slipway-user': c[i] } })).variant, 'baseline', `body user ${b[i]} (baseline) with header ${c[i]}`);
  }
}));

test('requests without a sticky key are spread at random at the weight', withLogs(async () => {
  const N = 2000;
  const variants = await pool(N, 16, async () => (await ask()).variant);
  const share = (100 * variants.filter((v) => v === 'canary').length) / N;
  assert.ok(Math.abs(share - WEIGHT) <= 3, `unkeyed canary share ${share.toFixed(2)}%`);
}));

test('pinned requests (x-tier: high-stakes) always go to the baseline, even for canary users', withLogs(async () => {
  const canaryUsers = [...firstVariant].filter(([, v]) => v === 'canary').map(([u]) => u).slice(0, 300);
  assert.ok(canaryUsers.length >= 200, 'need canary users from the share test');
  const c0 = chatCount(await canary.stats());
  const wrong = [];
  await pool(canaryUsers.length, 16, async (i) => {
    const { variant } = await ask({ user: canaryUsers[i], headers: { 'x-tier': 'high-stakes' } });
    if (variant !== 'baseline') wrong.push(canaryUsers[i]);
  });
  assert.deepEqual(wrong, [], 'pinned requests answered by the canary');
  assert.equal(chatCount(await canary.stats()) - c0, 0, 'the canary simulator received pinned requests');
  // Control: without the pin the same users are still canary (the pin did not change their assignment).
  for (const user of canaryUsers.slice(0, 20)) assert.equal((await ask({ user })).variant, 'canary');
  // A header value that does not match the rule does not pin.
  for (const user of canaryUsers.slice(0, 20)) assert.equal((await ask({ user, headers: { 'x-tier': 'low' } })).variant, 'canary');
}));

test('the gateway is still alive', () => {
  assert.ok(gw.proc.alive, 'gateway exited');
});
