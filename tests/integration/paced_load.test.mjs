// bench/paced-load, the load generator of bench/run.sh's fixed-rate latency run (bench/paced_load.cpp): the
// requests of the measured run are exactly rate x duration, due at evenly spaced times; latency runs from
// when a request was due, so a server that stalls is charged for the requests that waited behind the stall;
// a status other than 200 is an error. Against a node HTTP server on loopback, a few seconds in all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const SOURCE_DIR = process.env.SLIPWAY_SOURCE_DIR
  ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const PACED_BIN = process.env.PACED_LOAD_BIN ?? path.join(SOURCE_DIR, 'build/bench/paced-load');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paced-load-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const body = path.join(dir, 'body.json');
fs.writeFileSync(body, '{"model":"m","user":"__USER__","messages":[{"role":"user","content":"hi"}]}\n');

// answer(req, res, n): how the server answers its n-th request (0-based).
async function server(answer) {
  const seen = [];
  let n = 0;
  const s = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      seen.push({ user: req.headers['x-bench-user'], body: text });
      answer(res, n++);
    });
  });
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { port: s.address().port, seen, close: () => new Promise((r) => { s.closeAllConnections(); s.close(r); }) };
}

function ok(res) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}

function run(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(PACED_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      resolve({ code, err, result: line ? JSON.parse(line.slice('BENCH_RESULT '.length)) : null });
    });
  });
}

test('the measured run is rate x duration requests, due evenly spaced, after an uncounted warm-up', async () => {
  const s = await server((res) => ok(res));
  const dump = path.join(dir, 'dump.txt');
  try {
    const r = await run(['--url', `http://127.0.0.1:${s.port}/v1/chat/completions`, '--body', body, '--rate', '400',
      '--warmup', '0.5', '--duration', '1', '--connections', '8', '--users', '3', '--dump', dump, '--tag', 'even']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.result.tag, 'even');
    assert.equal(r.result.requests, 400);
    assert.equal(r.result.answered_with_warmup, 600);
    assert.equal(s.seen.length, 600);
    for (const k of ['err_connect', 'err_read', 'err_write', 'err_status', 'err_timeout']) assert.equal(r.result[k], 0, k);
    assert.ok(r.result.rps > 380 && r.result.rps < 420, `rps ${r.result.rps}`);
    assert.ok(r.result.p50_us > 0 && r.result.p50_us <= r.result.p99_us && r.result.p99_us <= r.result.max_us);
    // Due times 2.5 ms apart, from 0 (the end of the warm-up).
    const due = fs.readFileSync(dump, 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[0])).sort((a, b) => a - b);
    assert.equal(due.length, 400);
    assert.ok(due[0] >= 0 && due[0] <= 1, `first due ${due[0]}`);
    for (let i = 1; i < due.length; ++i) assert.ok(Math.abs(due[i] - due[i - 1] - 2500) <= 1, `gap ${due[i] - due[i - 1]} at ${i}`);
    // Users rotate through the body and the x-bench-user header alike.
    const users = new Set(s.seen.map((x) => x.user));
    assert.deepEqual([...users].sort(), ['bench-user-00001', 'bench-user-00002', 'bench-user-00003']);
    for (const x of s.seen) assert.ok(x.body.includes(`"user":"${x.user}"`), x.body);
  } finally {
    await s.close();
  }
});

test('a stalled server is charged for the requests due during the stall; non-200 answers are errors', async () => {
  // The 100th request is answered after 300 ms; every 50th answer is a 503.
  const s = await server((res, n) => {
    if (n === 100) setTimeout(() => ok(res), 300);
    else if (n % 50 === 49) { res.writeHead(503); res.end('busy'); }
    else ok(res);
  });
  try {
    // One connection: everything due during the stall waits behind it (about 60 requests at 200/s).
    const r = await run(['--url', `http://127.0.0.1:${s.port}/x`, '--body', body, '--rate', '200', '--duration', '1.5',
      '--connections', '1']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.result.requests, 300);
    assert.ok(r.result.max_us >= 290_000, `max ${r.result.max_us} us`);
    // Requests due during the stall went out late and were timed from when they were due.
    assert.ok(r.result.late >= 50, `late ${r.result.late}`);
    assert.ok(r.result.p90_us >= 20_000, `p90 ${r.result.p90_us} us`);
    assert.equal(r.result.err_status, 6);
  } finally {
    await s.close();
  }
});

test('bad usage exits 2 with a message', async () => {
  for (const args of [[], ['--url', 'http://127.0.0.1/x', '--body', body, '--rate', '1', '--duration', '1'],
    ['--url', 'http://127.0.0.1:1/x', '--body', body, '--rate', '0', '--duration', '1'],
    ['--url', 'http://127.0.0.1:1/x', '--body', path.join(dir, 'missing.json'), '--rate', '1', '--duration', '1']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `args ${args.join(' ')}`);
    assert.match(r.err, /paced-load: /);
  }
});
