// What the fault-injection tests check around each fault: the gateway's metrics (GET /metrics on the main
// listener, metrics_on_main: true), its resident memory (VmRSS from /proc), and an "other client" that keeps
// sending normal requests while a fault happens and must see no failure.

import fs from 'node:fs';
import { chat, postJson, readChatStream, sleep } from './harness.mjs';

// Under ASan/UBSan or TSan (test.sh sets their *_OPTIONS) the gateway runs several times slower, and ASan's
// allocator keeps freed memory in quarantine: time bounds are stretched and RSS bounds are not checked.
export const SANITIZED = Boolean(process.env.ASAN_OPTIONS || process.env.TSAN_OPTIONS);
export const SLOWDOWN = SANITIZED ? 4 : 1;

/** Sum of the samples of `name` whose labels include every pair of `labels` (0 when none). */
export function metricValue(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === String(v))) sum += Number(m[3]);
  }
  return sum;
}

export async function scrape(gw) {
  const r = await fetch(`${gw.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (r.status !== 200) throw new Error(`/metrics -> ${r.status}`);
  return r.text();
}

/**
 * How much `name{labels}` moved since the scrape `beforeText`, once it has moved by at least `atLeast` (or
 * `timeoutMs` passed). A request's metrics are recorded just after its answer is sent, so a scrape right
 * after the client has its answer may not see them yet.
 */
export async function metricDelta(gw, beforeText, name, labels, atLeast, { timeoutMs = 3000 } = {}) {
  const before = metricValue(beforeText, name, labels);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delta = metricValue(await scrape(gw), name, labels) - before;
    if (delta >= atLeast || Date.now() > deadline) return delta;
    await sleep(25);
  }
}

/** Resident memory of a process, in KiB. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * Normal requests to `model` on `gw`, `concurrency` at a time (half of them streams), until stop().
 * `snapshot()` gives {ok, failed, failures: [first few]} so far; a test compares two snapshots.
 */
export function startOtherClient(gw, model, { concurrency = 2, pauseMs = 20 } = {}) {
  const stats = { ok: 0, failed: 0, failures: [] };
  let running = true;
  const fail = (what) => {
    stats.failed++;
    if (stats.failures.length < 5) stats.failures.push(what);
  };
  async function loop(i) {
    for (let n = 0; running; n++) {
      const stream = (i + n) % 2 === 1;
      try {
        if (stream) {
          const r = await fetch(`${gw.base}/chat/completions`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify(chat(model, 'other client', { stream: true, max_tokens: 4 })),
            signal: AbortSignal.timeout(10_000),
          });
          const s = r.status === 200 ? await readChatStream(r) : undefined;
          if (r.status !== 200 || !s.done || s.errors.length) fail(`stream: ${r.status} ${JSON.stringify(s?.errors ?? [])}`);
          else stats.ok++;
        } else {
          const r = await postJson(`${gw.base}/chat/completions`, chat(model, 'other client', { max_tokens: 4 }), { signal: AbortSignal.timeout(10_000) });
          if (r.status !== 200 || !r.json?.choices) fail(`${r.status} ${r.text.slice(0, 200)}`);
          else stats.ok++;
        }
      } catch (e) {
        fail(`exception: ${e.cause?.code ?? e.message}`);
      }
      await sleep(pauseMs);
    }
  }
  const loops = Array.from({ length: concurrency }, (_, i) => loop(i));
  return {
    snapshot: () => ({ ok: stats.ok, failed: stats.failed, failures: [...stats.failures] }),
    async stop() {
      running = false;
      await Promise.all(loops);
      return this.snapshot();
    },
  };
}
