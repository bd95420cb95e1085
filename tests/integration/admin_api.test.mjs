// The admin API on the real gateway's admin listener (docs/admin-api.md).
// Gateway A has a token in an environment variable (admin.token_env): without the token, or with a wrong
// one, every /admin/ call is 401 with WWW-Authenticate, and a refused rollback is audited (admin_action line,
// never the token); with the token, GET /admin/v1/state is 200 JSON in the documented shape (this part needs
// the rollout service attached to the admin listener in server.cpp; until then the gateway answers 503).
// Gateway B has an admin listener but no token: every /admin/ call is 403, saying how to configure one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, getJson, postJson, expectOpenAIError,
} from '../lib/harness.mjs';

const TOKEN = 'test-admin-token-7f3a9c1e5b2d4a68';
let withToken, withoutToken;

async function adminPort(gw) {
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  return Number(ev.port);
}

before(async () => {
  const baseline = await startSim({ model: 'm-fp16', name: 'baseline', ttftMs: 0, tokenMs: 0 });
  const canary = await startSim({ model: 'm-int4', name: 'canary', ttftMs: 0, tokenMs: 0 });
  const gwA = await startGateway(modelConfig({
    name: 'm', baseline, canary, weight: 10,
    extra: { admin: { address: '127.0.0.1', port: 0, token_env: 'SLIPWAY_TEST_ADMIN_TOKEN' } },
  }), { env: { SLIPWAY_TEST_ADMIN_TOKEN: TOKEN } });
  withToken = { gw: gwA, url: `http://127.0.0.1:${await adminPort(gwA)}` };
  const gwB = await startGateway(modelConfig({
    name: 'm', baseline, canary, weight: 10,
    extra: { admin: { address: '127.0.0.1', port: 0 } },
  }));
  withoutToken = { gw: gwB, url: `http://127.0.0.1:${await adminPort(gwB)}` };
});

after(() => stopAll());

const auth = (token) => ({ authorization: `Bearer ${token}` });

test('without the token, or with a wrong one, every admin call is 401', { timeout: 30_000 }, withLogs(async () => {
  const mark = withToken.gw.proc.lines.length;
  const calls = [
    () => getJson(`${withToken.url}/admin/v1/state`),
    () => getJson(`${withToken.url}/admin/v1/state`, { headers: auth('wrong') }),
    () => getJson(`${withToken.url}/admin/v1/state`, { headers: auth(TOKEN.slice(0, -1)) }),
    () => getJson(`${withToken.url}/admin/v1/state`, { headers: auth(`${TOKEN}0`) }),
    () => getJson(`${withToken.url}/admin/v1/state`, { headers: { authorization: `Basic ${TOKEN}` } }),
    () => postJson(`${withToken.url}/admin/v1/models/m/rollback`, { reason: 'no token' }),
    () => postJson(`${withToken.url}/admin/v1/models/m/rollback`, { reason: 'wrong token' }, { headers: auth('nope') }),
    () => postJson(`${withToken.url}/admin/v1/models/m/resume`, { reason: 'r' }),
    () => getJson(`${withToken.url}/admin/v1/does-not-exist`),
  ];
  for (const call of calls) {
    const res = await call();
    expectOpenAIError(assert, res, { status: 401, type: 'authentication_error' });
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="slipway-admin"/);
  }
  // The refused mutating calls are audited, with the client address and no token anywhere in the log.
  const ev = await withToken.gw.proc.waitForEvent('admin_action', {
    from: mark, pred: (j) => j.action === 'rollback' && j.status === 401, what: 'admin_action for the refused rollback',
  });
  assert.equal(ev.model, 'm');
  assert.equal(ev.result, 'refused');
  assert.match(ev.client, /^127\.0\.0\.1:\d+$/);
  const audited = withToken.gw.proc.events(mark).filter((j) => j.event === 'admin_action');
  assert.equal(audited.length, 3, JSON.stringify(audited));   // two rollbacks, one resume; no line for GETs
  for (const l of withToken.gw.proc.lines) assert.ok(!l.text.includes(TOKEN), `token in a log line: ${l.text}`);

  // Not token-protected: metrics, health, the status page.
  for (const p of ['/metrics', '/healthz', '/status.json']) assert.equal((await getJson(`${withToken.url}${p}`)).status, 200, p);
}));

test('with no token configured every admin call is 403 and says how to configure one', { timeout: 30_000 }, withLogs(async () => {
  for (const call of [
    () => getJson(`${withoutToken.url}/admin/v1/state`),
    () => getJson(`${withoutToken.url}/admin/v1/state`, { headers: auth(TOKEN) }),
    () => postJson(`${withoutToken.url}/admin/v1/models/m/rollback`, { reason: 'r' }, { headers: auth(TOKEN) }),
  ]) {
    const res = await call();
    const e = expectOpenAIError(assert, res, { status: 403, code: 'admin_token_not_configured' });
    assert.match(e.message, /admin\.token_env/);
    assert.match(e.message, /admin\.token_file/);
  }
}));

test('with the token, GET /admin/v1/state is 200 JSON with the models and their weights', { timeout: 30_000 }, withLogs(async () => {
  const res = await getJson(`${withToken.url}/admin/v1/state`, { headers: auth(TOKEN) });
  assert.equal(res.status, 200, `GET /admin/v1/state: ${res.status} ${res.text.slice(0, 300)} `
    + '(503 means the rollout service is not attached to the admin listener yet: AdminServer::set_rollout_control)');
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const s = res.json;
  assert.ok(s && typeof s === 'object', res.text);
  assert.equal(typeof s.config_generation, 'number', res.text);
  assert.ok(Array.isArray(s.models), res.text);
  const m = s.models.find((x) => x.model === 'm');
  assert.ok(m, `model m in ${res.text}`);
  assert.equal(m.configured_weight, 10);
  assert.equal(m.effective_weight, 10);
  assert.ok('rollout' in m, res.text);   // null: this config has no rollout section

  // An unknown path with the right token is 404; a wrong method is 405 with Allow.
  expectOpenAIError(assert, await getJson(`${withToken.url}/admin/v1/nope`, { headers: auth(TOKEN) }), { status: 404 });
  const wrong = await postJson(`${withToken.url}/admin/v1/state`, {}, { headers: auth(TOKEN) });
  expectOpenAIError(assert, wrong, { status: 405 });
  assert.equal(wrong.headers.get('allow'), 'GET');
  // A body without a reason is 400 naming the field.
  const noReason = await postJson(`${withToken.url}/admin/v1/models/m/rollback`, {}, { headers: auth(TOKEN) });
  assert.equal(expectOpenAIError(assert, noReason, { status: 400 }).param, 'reason');

  // The rollout service's own answers are relayed: model m has no rollout section (409), and an unknown
  // model whose name holds an encoded '/' is looked up decoded (404 naming "org/x").
  const mark = withToken.gw.proc.lines.length;
  const conflict = await postJson(`${withToken.url}/admin/v1/models/m/rollback`, { reason: 'integration test' }, { headers: auth(TOKEN) });
  expectOpenAIError(assert, conflict, { status: 409, code: 'conflict' });
  const unknown = await postJson(`${withToken.url}/admin/v1/models/org%2Fx/rollback`, { reason: 'integration test' }, { headers: auth(TOKEN) });
  const e = expectOpenAIError(assert, unknown, { status: 404, code: 'model_not_found' });
  assert.match(e.message, /org\/x/);
  const ev = await withToken.gw.proc.waitForEvent('admin_action', { from: mark, pred: (j) => j.model === 'org/x' });
  assert.equal(ev.reason, 'integration test');
  assert.equal(ev.status, 404);
}));
