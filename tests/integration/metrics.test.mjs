// Metrics: the admin listener (/metrics, /healthz, /readyz, port 0 logged), the exposition passes
// `promtool check metrics`, requests are counted by model / variant / slice / outcome (unknown models as
// "other"), the access log names the slices, metrics_on_main, and the recording rules' promtool unit tests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, pool, waitFor, SOURCE_DIR,
} from '../lib/harness.mjs';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

let baseline, canary, gw, adminPort;

before(async () => {
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 5 };
  baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  canary = await startSim({ model: 'm-int4', name: 'canary', ...timing });
  const cfg = modelConfig({
    name: 'm', baseline, canary, weight: 50,
    extra: {
      admin: { address: '127.0.0.1', port: 0 },
      metrics_on_main: true,
      slices: [
        { name: 'streaming', stream: true },
        { name: 'fr', header: { name: 'x-lang', values: ['fr'] } },
        { name: 'tools', tools_at_least: 1 },
      ],
    },
  });
  cfg.models[0].baseline.price = { prompt_per_1k: 1, completion_per_1k: 2 };
  gw = await startGateway(cfg);
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  adminPort = Number(ev.port);
  assert.ok(adminPort > 0);
});

after(async () => { await stopAll(); });

async function scrape(url = `http://127.0.0.1:${adminPort}/metrics`) {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return { text: await r.text(), type: r.headers.get('content-type') };
}

/** Sum of the samples of `name` whose labels include every pair of `labels`. */
export function metricValue(text, name, labels = {}) {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
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

test('admin listener serves /metrics, /healthz, /readyz; other paths 404', withLogs(async () => {
  const { type, text } = await scrape();
  assert.match(type, /^text\/plain; version=0\.0\.4/);
  assert.match(text, /# TYPE slipway_requests_total counter/);
  assert.match(text, /slipway_build_info\{version="[^"]+"\} 1/);
  assert.match(text, /slipway_config_info\{generation="1"\} 1/);
  assert.equal(metricValue(text, 'slipway_canary_weight_percent', { model: 'm' }), 50);
  assert.equal((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status, 200);
  const nf = await fetch(`http://127.0.0.1:${adminPort}/nope`);
  assert.equal(nf.status, 404);
  const post = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
}));

test('requests are counted by model, variant, slice and outcome; the access log names the slices', withLogs(async () => {
  const before = (await scrape()).text;
  const mark = gw.proc.lines.length;
  const N = 60;
  const variants = await pool(N, 8, async (i) => {
    const headers = i % 3 === 0 ? { 'x-lang': 'fr' } : {};
    const r = await postJson(`${gw.base}/chat/completions`, chat('m', `q ${i}`, { user: `u-${i}`, max_tokens: 5 }), { headers });
    assert.equal(r.status, 200, r.text);
    return { variant: r.headers.get('x-slipway-variant'), fr: i % 3 === 0 };
  });
  // An unknown model and a bad body: counted under model="other", variant="none".
  assert.equal((await postJson(`${gw.base}/chat/completions`, chat('nope'))).status, 404);
  assert.equal((await postJson(`${gw.base}/chat/completions`, '{"model":')).status, 400);

  // record() runs just after the answer is sent: wait until the last request is counted.
  const total = (t) => metricValue(t, 'slipway_requests_total', { slice: 'all' }) ?? 0;
  let after;
  await waitFor(async () => { after = (await scrape()).text; return total(after) - total(before) === N + 2; },
    { timeoutMs: 5000, what: 'every request counted' });
  const delta = (name, labels) => (metricValue(after, name, labels) ?? 0) - (metricValue(before, name, labels) ?? 0);
  for (const v of ['baseline', 'canary']) {
    const n = variants.filter((x) => x.variant === v).length;
    const nfr = variants.filter((x) => x.variant === v && x.fr).length;
    assert.equal(delta('slipway_requests_total', { model: 'm', variant: v, slice: 'all', outcome: 'ok' }), n, `${v} all`);
    assert.equal(delta('slipway_requests_total', { model: 'm', variant: v, slice: 'fr', outcome: 'ok' }), nfr, `${v} fr`);
    assert.equal(delta('slipway_requests_total', { model: 'm', variant: v, slice: 'streaming' }), 0, `${v} streaming`);
    assert.equal(delta('slipway_request_duration_seconds_count', { model: 'm', variant: v, slice: 'all' }), n);
    assert.equal(delta('slipway_gateway_overhead_seconds_count', { model: 'm', variant: v, slice: 'all' }), n);
  }
  assert.equal(delta('slipway_requests_total', { model: 'other', variant: 'none', slice: 'all', outcome: 'client_error' }), 2);
  assert.ok(!/model="nope"/.test(after), 'an unknown model name became a label value');
  const nb = variants.filter((x) => x.variant === 'baseline').length;
  assert.ok(delta('slipway_tokens_total', { model: 'm', variant: 'baseline', slice: 'all', type: 'completion' }) >= nb);
  assert.ok(delta('slipway_cost_total', { model: 'm', variant: 'baseline', slice: 'all' }) > 0);
  assert.equal(metricValue(after, 'slipway_cost_total', { model: 'm', variant: 'canary', slice: 'all' }), 0, 'canary has no price');

  await waitFor(() => gw.proc.events(mark).filter((e) => e.event === 'request' && e.model === 'm').length === N,
    { timeoutMs: 5000, what: 'every request logged' });
  const logs = gw.proc.events(mark).filter((e) => e.event === 'request' && e.model === 'm');
  assert.equal(logs.filter((e) => (e.slices ?? []).includes('fr')).length, variants.filter((x) => x.fr).length);
  assert.ok(logs.filter((e) => !(e.slices ?? []).includes('fr')).every((e) => e.slices === undefined));
}));

test('streams: time to first token and the streaming slice', withLogs(async () => {
  const before = (await scrape()).text;
  const r = await fetch(`${gw.base}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('m', 'stream me', { user: 'stream-user', stream: true, max_tokens: 5 })),
  });
  const v = r.headers.get('x-slipway-variant');
  await r.text();
  const count = (t) => metricValue(t, 'slipway_time_to_first_token_seconds_count', { model: 'm', variant: v, slice: 'streaming' }) ?? 0;
  let after;
  await waitFor(async () => { after = (await scrape()).text; return count(after) > count(before); }, { timeoutMs: 5000, what: 'the stream counted' });
  const d = (metricValue(after, 'slipway_time_to_first_token_seconds_count', { model: 'm', variant: v, slice: 'streaming' }) ?? 0)
    - (metricValue(before, 'slipway_time_to_first_token_seconds_count', { model: 'm', variant: v, slice: 'streaming' }) ?? 0);
  assert.equal(d, 1);
}));

test('metrics_on_main: GET /metrics on the main listener', withLogs(async () => {
  const { text, type } = await scrape(`${gw.url}/metrics`);
  assert.match(type, /^text\/plain; version=0\.0\.4/);
  assert.match(text, /slipway_requests_total\{/);
}));

test('promtool check metrics passes on the live exposition', { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' }, withLogs(async () => {
  const { text } = await scrape();
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}\n${r.stderr}`);
}));

test('promtool test rules: recording rule unit tests', { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' }, () => {
  const dir = path.join(SOURCE_DIR, 'deploy/prometheus/tests');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yml')).map((f) => path.join(dir, f));
  assert.ok(files.length > 0);
  const check = spawnSync(promtool, ['check', 'rules', path.join(SOURCE_DIR, 'deploy/prometheus/recording_rules.yml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const r = spawnSync(promtool, ['test', 'rules', ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('a reload is counted and bumps the config generation', withLogs(async () => {
  const cfg = fs.readFileSync(gw.configPath, 'utf8');
  const mark = gw.writeConfig(cfg.replace('weight: 50', 'weight: 40'));
  await gw.waitForReload({ from: mark });
  const { text } = await scrape();
  assert.equal(metricValue(text, 'slipway_config_reloads_total', { result: 'applied' }), 1);
  assert.equal(metricValue(text, 'slipway_canary_weight_percent', { model: 'm' }), 40);
  assert.match(text, /slipway_config_info\{generation="2"\} 1/);
  const mark2 = gw.writeConfig(cfg.replace('weight: 50', 'weight: 150'));
  await gw.waitForReject({ from: mark2 });
  assert.equal(metricValue((await scrape()).text, 'slipway_config_reloads_total', { result: 'rejected' }), 1);
}));
