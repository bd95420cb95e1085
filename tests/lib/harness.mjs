// Test harness for slipway's integration and end-to-end tests (node:test).
//
// Starts real processes on loopback ephemeral ports: simulated vLLM servers ($VLLM_SIM_BIN) and the
// gateway ($SLIPWAY_BIN) with a temporary YAML config. Every process started here is killed when the test
// file ends, on success or failure (call `stopAll()` in an `after()` hook; a process 'exit' handler is the
// last resort). Logs of every process are kept; `withLogs(fn)` prints their tails when `fn` throws.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export const SOURCE_DIR = process.env.SLIPWAY_SOURCE_DIR
  ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const SLIPWAY_BIN = process.env.SLIPWAY_BIN ?? path.join(SOURCE_DIR, 'build/slipway');
export const VLLM_SIM_BIN = process.env.VLLM_SIM_BIN ?? path.join(SOURCE_DIR, 'build/vllm-sim');

const STARTUP_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 30_000;        // no single request of a test may hang longer
// ctest kills a test after 300 s; end before that, so that the exit handler still kills our children.
const FILE_DEADLINE_MS = Number(process.env.SLIPWAY_TEST_DEADLINE_MS ?? 270_000);
const LOG_TAIL_LINES = 150;

// ---------------------------------------------------------------------------------------------------
// Process registry: everything we spawn, so that nothing outlives the test file.

const processes = new Set();
let tmpRoot;

export function tmpDir() {
  if (!tmpRoot) tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'slipway-test-'));
  return tmpRoot;
}

function killAllNow() {
  for (const p of processes) {
    try { p.child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  try { if (pidFile) fs.rmSync(pidFile, { force: true }); } catch { /* best effort */ }
}
process.on('exit', () => {
  killAllNow();
  if (tmpRoot && !process.env.SLIPWAY_KEEP_TMP) {
    try { fs.rmSync(tmpRoot, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killAllNow(); process.exit(128 + os.constants.signals[sig]); });
}
setTimeout(() => {
  process.stderr.write(`harness: the test file ran for ${FILE_DEADLINE_MS} ms; stopping everything\n`);
  dumpLogs();
  process.exit(1);   // the 'exit' handler kills the children
}, FILE_DEADLINE_MS).unref();

// Last resort when this process is killed with SIGKILL (no handler runs): a watchdog shell polls our pid
// and then kills, by pid, the children still listed in the pid file (entries are removed as they exit).
let pidFile;
function watchChild(pid) {
  if (!pidFile) {
    pidFile = path.join(os.tmpdir(), `slipway-test-pids-${process.pid}`);
    fs.writeFileSync(pidFile, '');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; `
      + `if [ -s "${pidFile}" ]; then kill -9 $(cat "${pidFile}") 2>/dev/null; fi; rm -f "${pidFile}"`;
    const wd = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    wd.unref();
  }
  fs.appendFileSync(pidFile, `${pid}\n`);
}
function unwatchChild(pid) {
  if (!pidFile || !fs.existsSync(pidFile)) return;
  const rest = fs.readFileSync(pidFile, 'utf8').split('\n').filter((l) => l && l !== String(pid));
  fs.writeFileSync(pidFile, rest.map((l) => `${l}\n`).join(''));
}

/** Stops every process started by this harness (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopAll(graceMs = 3000) {
  await Promise.all([...processes].map((p) => p.stop(graceMs)));
}

/** Wraps a test function: on failure, prints the log tails of every process, then rethrows. */
export function withLogs(fn) {
  return async function (...args) {
    try {
      return await fn.apply(this, args);
    } catch (err) {
      dumpLogs();
      throw err;
    }
  };
}

export function dumpLogs(lines = LOG_TAIL_LINES) {
  for (const p of processes) {
    const tail = p.lines.slice(-lines);
    process.stderr.write(`\n----- ${p.label} (pid ${p.child.pid}, exit ${p.exitCode ?? 'running'}), last ${tail.length} lines -----\n`);
    for (const l of tail) process.stderr.write(`${l.stream === 'stderr' ? '[stderr] ' : ''}${l.text}\n`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Managed process: line-buffered stdout/stderr, JSON lines parsed, waiters on log events.

class Managed {
  constructor(label, bin, args, opts = {}) {
    this.label = label;
    this.lines = [];          // {stream, text, json?, t}
    this.waiters = [];        // {pred, resolve, reject, timer}
    this.exitCode = null;
    this.exited = false;
    if (!fs.existsSync(bin)) throw new Error(`${label}: binary not found: ${bin}`);
    this.child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
    processes.add(this);
    if (this.child.pid) watchChild(this.child.pid);
    for (const stream of ['stdout', 'stderr']) {
      const rl = readline.createInterface({ input: this.child[stream] });
      rl.on('line', (text) => this.#onLine(stream, text));
    }
    this.exitPromise = once(this.child, 'exit').then(([code, signal]) => {
      this.exited = true;
      this.exitCode = code ?? signal;
      unwatchChild(this.child.pid);
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.label} exited (${this.exitCode}) while waiting for ${w.what}`));
      }
    });
  }

  #onLine(stream, text) {
    const entry = { stream, text, t: Date.now() };
    if (text.startsWith('{')) {
      try { entry.json = JSON.parse(text); } catch { /* not JSON */ }
    }
    this.lines.push(entry);
    if (process.env.SLIPWAY_TEST_VERBOSE) process.stderr.write(`[${this.label}] ${text}\n`);
    for (const w of [...this.waiters]) {
      if (w.pred(entry)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(entry);
      }
    }
  }

  /** JSON log entries (objects) seen so far, optionally from index `from` of all lines. */
  events(from = 0) {
    return this.lines.slice(from).filter((l) => l.json).map((l) => l.json);
  }

  /** Resolves with the first line (from index `from`) for which pred(entry) holds; entry.json is parsed JSON. */
  waitForLine(pred, { timeoutMs = 10_000, from = 0, what = 'a log line' } = {}) {
    for (const e of this.lines.slice(from)) if (pred(e)) return Promise.resolve(e);
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited (${this.exitCode}); no ${what}`));
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, what };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves with the JSON of the first log event whose `event` field equals `name` (and matches `pred`). */
  async waitForEvent(name, { pred = () => true, ...opts } = {}) {
    const e = await this.waitForLine((l) => l.json?.event === name && pred(l.json), { what: `event "${name}"`, ...opts });
    return e.json;
  }

  get alive() { return !this.exited; }

  async stop(graceMs = 3000) {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, graceMs);
      await this.exitPromise;
      clearTimeout(t);
    }
    processes.delete(this);
  }
}

// ---------------------------------------------------------------------------------------------------
// Simulated vLLM

/**
 * Starts a simulator on an ephemeral port (or `port`). Options: model, name, profile (path, relative to the source
 * dir or absolute), ttftMs, tokenMs, outputTokens, seed, args (extra CLI arguments).
 * Returns { port, url, model, name, proc, stats(), reset(), stop() }.
 */
export async function startSim({ model = 'sim-model', name = model, port = 0, profile, ttftMs, tokenMs, outputTokens, seed, args = [] } = {}) {
  const argv = ['--port', String(port), '--model', model, '--name', name];
  if (profile) argv.push('--profile', path.isAbsolute(profile) ? profile : path.join(SOURCE_DIR, profile));
  if (ttftMs !== undefined) argv.push('--ttft-ms', String(ttftMs));
  if (tokenMs !== undefined) argv.push('--token-ms', String(tokenMs));
  if (outputTokens !== undefined) argv.push('--output-tokens', String(outputTokens));
  if (seed !== undefined) argv.push('--seed', String(seed));
  argv.push(...args);
  const proc = new Managed(`vllm-sim ${name}`, VLLM_SIM_BIN, argv);
  const ev = await proc.waitForEvent('listening', { timeoutMs: STARTUP_TIMEOUT_MS });
  const boundPort = Number(ev.port);
  const url = `http://127.0.0.1:${boundPort}`;
  return {
    port: boundPort, url, model, name, proc,
    endpoint: `127.0.0.1:${boundPort}`,
    async stats() {
      const r = await fetch(`${url}/sim/stats`);
      if (r.status !== 200) throw new Error(`sim ${name}: /sim/stats -> ${r.status}`);
      return r.json();
    },
    async reset() {
      const r = await fetch(`${url}/sim/reset`, { method: 'POST' });
      await r.arrayBuffer();
      if (r.status >= 300) throw new Error(`sim ${name}: /sim/reset -> ${r.status}`);
    },
    stop: (g) => proc.stop(g),
  };
}

// ---------------------------------------------------------------------------------------------------
// Config YAML (a small block-style emitter: the configs are plain maps, lists, strings and numbers)

function yamlScalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  const plain = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(s);
  return plain ? s : JSON.stringify(s);
}

export function toYaml(value, indent = 0) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value.map((item) => {
      if (item !== null && typeof item === 'object' && !(Array.isArray(item) && item.length === 0)) {
        const inner = toYaml(item, indent + 2);
        return `${pad}- ${inner.slice(indent + 2)}`;
      }
      return `${pad}- ${yamlScalar(item)}`;
    }).join('\n');
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 0) return '{}';
    return keys.map((k) => {
      const v = value[k];
      if (v !== null && typeof v === 'object' && !(Array.isArray(v) && v.length === 0) && Object.keys(v).length > 0) {
        return `${pad}${k}:\n${toYaml(v, indent + 2)}`;
      }
      if (Array.isArray(v)) return `${pad}${k}: []`;
      if (v !== null && typeof v === 'object') return `${pad}${k}: {}`;
      return `${pad}${k}: ${yamlScalar(v)}`;
    }).join('\n');
  }
  return pad + yamlScalar(value);
}

/**
 * A gateway config object for one model `name` with a baseline sim and, optionally, a canary sim.
 * `extra` is merged at the top level (limits, timeouts, routes, health, ...).
 */
export function modelConfig({ name = 'm', baseline, canary, weight = 10, extra = {} }) {
  const model = {
    name,
    baseline: { served_model: baseline.model, endpoints: [baseline.endpoint ?? baseline] },
  };
  if (canary) model.canary = { served_model: canary.model, weight, endpoints: [canary.endpoint ?? canary] };
  return {
    listen: { address: '127.0.0.1', port: 0 },
    threads: 2,
    health: { check_interval: '200ms' },
    models: [model],
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------------
// Gateway

let gatewayCount = 0;

/**
 * Writes `config` (an object, emitted as YAML, or a YAML string; null: use the file at opts.configPath as it
 * is) to a temp file and starts the gateway.
 * Waits for the main listener's "listening" log line, then (unless waitReady: false) for /readyz = 200.
 * Returns { port, url, configPath, proc, writeConfig(cfg), waitForReload(), waitForReject(), stop() }.
 */
export async function startGateway(config, { waitReady = true, args = [], env = {}, configPath } = {}) {
  const n = ++gatewayCount;
  configPath ??= path.join(tmpDir(), `gateway-${n}.yaml`);
  // config === null: the file at configPath is already there (e.g. a symlink that must stay one).
  if (config !== null) writeFileAtomic(configPath, typeof config === 'string' ? config : toYaml(config) + '\n');
  const proc = new Managed(`slipway #${n}`, SLIPWAY_BIN, ['--config', configPath, ...args], { env });
  const ev = await proc.waitForEvent('listening', {
    pred: (j) => j.listener === undefined || j.listener === 'main',
    timeoutMs: STARTUP_TIMEOUT_MS,
  });
  const port = Number(ev.port);
  const url = `http://127.0.0.1:${port}`;
  const gw = {
    port, url, configPath, proc,
    base: `${url}/v1`,
    /** Atomically replaces the config file (write temp + rename); returns the log index before the write. */
    writeConfig(cfg) {
      const mark = proc.lines.length;
      writeFileAtomic(configPath, typeof cfg === 'string' ? cfg : toYaml(cfg) + '\n');
      return mark;
    },
    /** Waits for a config_reloaded event after log index `from` (optionally with a given generation). */
    waitForReload({ from = 0, generation, timeoutMs = 5000 } = {}) {
      return proc.waitForEvent('config_reloaded', {
        from, timeoutMs, pred: (j) => generation === undefined || Number(j.generation) === generation,
      });
    },
    /** Waits for a config_rejected event after log index `from`. */
    waitForReject({ from = 0, timeoutMs = 5000 } = {}) {
      return proc.waitForEvent('config_rejected', { from, timeoutMs });
    },
    stop: (g) => proc.stop(g),
  };
  if (waitReady) await waitFor(async () => (await fetchStatus(`${url}/readyz`)) === 200, { timeoutMs: STARTUP_TIMEOUT_MS, what: `${url}/readyz = 200` });
  return gw;
}

export function writeFileAtomic(file, text) {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------------
// HTTP helpers

async function fetchStatus(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** Polls `cond` (async ok) every `intervalMs` until true; throws after `timeoutMs`. */
export async function waitFor(cond, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(intervalMs);
  }
}

/**
 * POST a JSON body (object or raw string) and read the whole answer.
 * Returns { status, headers, text, json (or undefined), ms }.
 */
export async function postJson(url, body, { headers = {}, signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS) } = {}) {
  const t0 = performance.now();
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal,
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json, ms: performance.now() - t0 };
}

export async function getJson(url, { headers = {}, signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS) } = {}) {
  const r = await fetch(url, { headers, signal });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

/** A minimal chat request body. */
export function chat(model, content = 'Say hello.', extra = {}) {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

/**
 * Reads an SSE stream from a fetch Response body. Yields { data, event, t } per event (t =
 * performance.now() when the event was complete), in order. Handles \n\n and \r\n\r\n separators and
 * events split across reads.
 */
export async function* sseEvents(response) {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of response.body) {
    buf += decoder.decode(chunk, { stream: true });
    buf = buf.replace(/\r\n/g, '\n');
    let idx;
    while ((idx = buf.indexOf('\n\n')) !== -1) {
      const raw = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      const ev = { data: undefined, event: undefined, t: performance.now(), raw };
      const data = [];
      for (const line of raw.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') ev.event = value;
      }
      if (data.length === 0 && ev.event === undefined) continue;
      ev.data = data.join('\n');
      yield ev;
    }
  }
  if (buf.trim() !== '') yield { data: undefined, event: 'incomplete', raw: buf, t: performance.now() };
}

/**
 * Assembles a chat completion stream into { id, role, content, finish_reason, tool_calls, usageChunks,
 * chunks, done, doneIsLast, firstAt, lastAt }.
 */
export async function readChatStream(response) {
  const out = { id: undefined, role: undefined, content: '', finish_reason: null, tool_calls: [], usageChunks: [],
    chunks: [], done: false, doneIsLast: false, events: 0, firstAt: undefined, lastAt: undefined, errors: [] };
  for await (const ev of sseEvents(response)) {
    out.events++;
    out.firstAt ??= ev.t;
    out.lastAt = ev.t;
    if (out.done) { out.doneIsLast = false; continue; }
    if (ev.data === '[DONE]') { out.done = true; out.doneIsLast = true; continue; }
    let j;
    try { j = JSON.parse(ev.data); } catch { out.errors.push(`not JSON: ${ev.raw}`); continue; }
    if (j.error) { out.errors.push(j.error); continue; }
    out.chunks.push(j);
    out.id ??= j.id;
    if (j.usage) out.usageChunks.push(j);
    for (const c of j.choices ?? []) {
      const d = c.delta ?? {};
      if (d.role) out.role = d.role;
      if (typeof d.content === 'string') out.content += d.content;
      for (const tc of d.tool_calls ?? []) {
        const slot = (out.tool_calls[tc.index] ??= { id: undefined, type: undefined, function: { name: '', arguments: '' } });
        if (tc.id) slot.id = tc.id;
        if (tc.type) slot.type = tc.type;
        // The name normally comes once, in the first fragment; some servers repeat it on every fragment.
        if (tc.function?.name && slot.function.name !== tc.function.name) slot.function.name += tc.function.name;
        if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
      }
      if (c.finish_reason) out.finish_reason = c.finish_reason;
    }
  }
  return out;
}

/** A TCP port that nothing listens on (bound, then closed). */
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Runs `worker(i)` for i in [0, n) with at most `concurrency` in flight; returns results in order. */
export async function pool(n, concurrency, worker) {
  const results = new Array(n);
  let next = 0;
  async function run() {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      results[i] = await worker(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, run));
  return results;
}

/** Asserts an OpenAI-shaped error body; returns the error object. */
export function expectOpenAIError(assert, res, { status, code, type } = {}) {
  const where = `status ${res.status}, body ${res.text?.slice(0, 300)}`;
  if (status !== undefined) {
    if (Array.isArray(status)) assert.ok(status.includes(res.status), `expected status in ${status}, got ${where}`);
    else assert.equal(res.status, status, `expected status ${status}, got ${where}`);
  }
  assert.ok(res.json && typeof res.json === 'object', `error body is not JSON: ${where}`);
  const e = res.json.error;
  assert.ok(e && typeof e === 'object', `no "error" object: ${where}`);
  assert.equal(typeof e.message, 'string', `error.message: ${where}`);
  assert.ok(e.message.length > 0, `empty error.message: ${where}`);
  assert.equal(typeof e.type, 'string', `error.type: ${where}`);
  assert.ok('param' in e, `error.param missing: ${where}`);
  assert.ok('code' in e, `error.code missing: ${where}`);
  if (code !== undefined) assert.equal(e.code, code, `error.code: ${where}`);
  if (type !== undefined) assert.equal(e.type, type, `error.type: ${where}`);
  const ct = res.headers.get('content-type') ?? '';
  assert.match(ct, /application\/json/, `content-type of an error: ${ct}`);
  return e;
}
