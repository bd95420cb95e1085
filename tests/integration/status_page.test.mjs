// The status page (GET /status on the admin listener) rendered by headless Chromium.
// Two simulators: the canary violates the requested JSON schema when it is nested 3 levels or more; the
// baseline is clean. 80 requests (half deep, half shallow) at a 50% canary weight. Then Chromium loads the
// page (--dump-dom and --screenshot): the DOM must show the model, its weights, a row per slice and variant
// whose request counts are the ones the gateway answered (x-slipway-variant), a failure rate > 0 for the
// canary on the deep slice and 0 for the baseline, the SVG charts; the screenshot must be a real
// 1200x900 PNG of some size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, getJson, chat, pool, tmpDir, waitFor,
} from '../lib/harness.mjs';

const chromiumBin = ['chromium', 'chromium-browser', 'google-chrome']
  .map((b) => spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).stdout.trim()).find(Boolean);
const N = 80;
const CHROMIUM_TIMEOUT_MS = 60_000;

let gw, adminUrl, dir;
const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

before(async () => {
  if (!chromiumBin) return;
  dir = tmpDir();
  const profile = path.join(dir, 'canary-deep-slip.yaml');
  fs.writeFileSync(profile, 'slippage:\n  - kind: schema_violation\n    p: 1.0\n    when: {min_schema_depth: 3}\n');
  const timing = { ttftMs: 0, tokenMs: 0, outputTokens: 8 };
  const baseline = await startSim({ model: 'm-fp16', name: 'baseline', ...timing });
  const canary = await startSim({ model: 'm-int4', name: 'canary', profile, ...timing });
  gw = await startGateway(modelConfig({
    name: 'chat-model', baseline, canary, weight: 50,
    extra: {
      admin: { address: '127.0.0.1', port: 0 },
      slices: [
        { name: 'deep_schema', schema_depth_at_least: 3 },
        { name: 'shallow', header: { name: 'x-shape', values: ['shallow'] } },
      ],
    },
  }));
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  adminUrl = `http://127.0.0.1:${ev.port}`;
});

after(() => stopAll());

const deepSchema = {
  type: 'object', required: ['order'], additionalProperties: false,
  properties: {
    order: {
      type: 'object', required: ['items'],
      properties: { items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } } } } },
    },
  },
};
const shallowSchema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
const rf = (schema) => ({ type: 'json_schema', json_schema: { name: 'out', schema } });

/** Runs chromium with `args`, killed after CHROMIUM_TIMEOUT_MS; resolves { code, stdout, stderr, ms }. */
function runChromium(args) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(chromiumBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, CHROMIUM_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const chromiumArgs = (profileDir) => [
  '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--disable-extensions', '--disable-dev-shm-usage',
  `--user-data-dir=${profileDir}`, '--window-size=1200,900', '--virtual-time-budget=5000',
];

// The text of the <td class="cls"> cells in the row of (slice, variant).
function rowCells(dom, slice, variant) {
  const re = new RegExp(`<tr class="sli-row ${variant}" data-slice="${slice}" data-variant="${variant}">([\\s\\S]*?)</tr>`);
  const m = re.exec(dom);
  if (!m) return undefined;
  const cells = {};
  for (const c of m[1].matchAll(/<td class="([^"]*)"[^>]*>([^<]*)<\/td>/g)) cells[c[1].split(' ').find((x) => x !== 'text')] = c[2];
  return cells;
}

test('headless Chromium renders the status page with the models, weights and per-slice numbers', {
  skip: chromiumBin ? false : 'chromium not installed (Debian package chromium)', timeout: 200_000,
}, withLogs(async () => {
  // Traffic: even i deep, odd i shallow, users varied so that the split sends some of each to the canary.
  const answered = {};   // `${slice}/${variant}` -> count
  await pool(N, 8, async (i) => {
    const deep = i % 2 === 0;
    const body = chat('chat-model', `order ${i}`, { user: `user-${i}`, max_tokens: 64, response_format: rf(deep ? deepSchema : shallowSchema) });
    const r = await postJson(`${gw.base}/chat/completions`, body, { headers: deep ? {} : { 'x-shape': 'shallow' } });
    assert.equal(r.status, 200, r.text);
    const variant = r.headers.get('x-slipway-variant');
    for (const slice of ['all', deep ? 'deep_schema' : 'shallow']) answered[`${slice}/${variant}`] = (answered[`${slice}/${variant}`] ?? 0) + 1;
  });
  assert.ok(answered['all/canary'] > 0 && answered['all/baseline'] > 0, JSON.stringify(answered));
  assert.ok(answered['deep_schema/canary'] > 0, JSON.stringify(answered));
  // record() runs just after the answer is sent: wait until /status.json has counted every request.
  await waitFor(async () => {
    const s = (await getJson(`${adminUrl}/status.json`)).json;
    const all = s.slis.find((r) => r.model === 'chat-model' && r.slice === 'all');
    return all.baseline.requests + all.canary.requests === N;
  }, { timeoutMs: 10_000, what: '/status.json counting every request' });

  // The page itself: self-contained (no external asset references).
  const page = await fetch(`${adminUrl}/status`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  const html = await page.text();
  assert.doesNotMatch(html, /<(link|img)\b|src=["']?https?:|href=["']?https?:|@import/i);

  const dom = await runChromium([...chromiumArgs(path.join(dir, 'chromium-dom')), '--dump-dom', `${adminUrl}/status`]);
  assert.equal(dom.code, 0, `chromium --dump-dom exited ${dom.code} after ${dom.ms} ms: ${dom.stderr.slice(-2000)}`);
  const d = dom.stdout;
  fs.writeFileSync(path.join(dir, 'status-dom.html'), d);

  assert.match(d, /<section class="model" data-model="chat-model">/, 'model section');
  assert.match(d, /<span class="model-name">chat-model<\/span>/);
  assert.match(d, /<dd class="configured-weight">50%<\/dd>/, 'configured weight');
  assert.match(d, /<dd class="effective-weight">50%<\/dd>/, 'effective weight');
  for (const slice of ['all', 'deep_schema', 'shallow']) {
    for (const variant of ['baseline', 'canary']) {
      const cells = rowCells(d, slice, variant);
      assert.ok(cells, `row ${slice}/${variant} in the DOM`);
      assert.equal(cells.requests, String(answered[`${slice}/${variant}`] ?? 0), `${slice}/${variant} requests: ${JSON.stringify(cells)}`);
      assert.match(cells['failure-rate'], /^\d+\.\d\d%$/, `${slice}/${variant} failure rate: ${JSON.stringify(cells)}`);
    }
  }
  // The canary's schema slippage on the deep slice shows; the baseline and the shallow slice are clean.
  assert.equal(rowCells(d, 'deep_schema', 'canary')['failure-rate'], '100.00%');
  assert.equal(rowCells(d, 'deep_schema', 'baseline')['failure-rate'], '0.00%');
  assert.equal(rowCells(d, 'shallow', 'canary')['failure-rate'], '0.00%');
  assert.ok(Number(rowCells(d, 'deep_schema', 'canary').findings) >= answered['deep_schema/canary']);
  // One chart per slice, with a drawn point per variant.
  const charts = [...d.matchAll(/<svg[^>]*class="sli-chart"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  assert.equal(charts.length, 3, 'three charts (all, deep_schema, shallow)');
  for (const c of charts) assert.ok((c.match(/<circle/g) ?? []).length >= 2, `chart points: ${c.slice(0, 400)}`);

  const png = path.join(dir, 'status.png');
  const shot = await runChromium([...chromiumArgs(path.join(dir, 'chromium-shot')), `--screenshot=${png}`, `${adminUrl}/status`]);
  assert.equal(shot.code, 0, `chromium --screenshot exited ${shot.code} after ${shot.ms} ms: ${shot.stderr.slice(-2000)}`);
  assert.ok(fs.existsSync(png), 'screenshot written');
  const bytes = fs.readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(bytes.readUInt32BE(16), 1200, 'PNG width');
  assert.equal(bytes.readUInt32BE(20), 900, 'PNG height');
  // A blank 1200x900 page compresses to a few KB; text, tables and charts make it much larger.
  assert.ok(bytes.length > 20_000, `screenshot is ${bytes.length} bytes`);
  if (process.env.SLIPWAY_STATUS_SCREENSHOT) fs.copyFileSync(png, process.env.SLIPWAY_STATUS_SCREENSHOT);
}));
