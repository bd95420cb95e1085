// Time to first byte of a streamed (SSE) response and time to its end, over keep-alive
// connections, at a fixed concurrency (default 1: requests one after another, an unloaded
// latency figure). Node's built-in http only, no dependencies. Used by bench/run.sh.
//
// node ttfb.mjs --url http://127.0.0.1:P/v1/chat/completions --body FILE [--n 1000]
//               [--warmup 100] [--concurrency 1] [--headers "A: b\nC: d"] [--tag T]
// Prints: BENCH_TTFB {"n":..,"ttfb_p50_us":..,"ttfb_p99_us":..,"total_p50_us":..,
//                     "total_p99_us":..,"events_mean":..,"errors":..}
// "first byte" = the first body bytes of the response (vLLM sends the first SSE event, the
// role chunk, with the first token; with the simulator's zero think time that is at once).
import http from 'node:http';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const url = new URL(args.url);
const template = fs.readFileSync(args.body, 'utf8').trim();
const n = Number(args.n ?? 1000);
const warmup = Number(args.warmup ?? 100);
const concurrency = Number(args.concurrency ?? 1);
const extra = {};
for (const line of (args.headers ?? '').split('\n')) {
  const m = line.match(/^\s*([^:]+):\s*(.*)$/);
  if (m) extra[m[1]] = m[2];
}
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function once(i) {
  return new Promise((resolve) => {
    const user = `bench-user-${String(i % 1000).padStart(5, '0')}`;
    const body = Buffer.from(template.replace('__USER__', user));
    let ttfb = 0n, events = 0;
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length,
                 'x-bench-user': user, ...extra },
    }, (res) => {
      let tail = '';
      res.on('data', (chunk) => {
        if (ttfb === 0n) ttfb = process.hrtime.bigint() - t0;
        const text = tail + chunk.toString('latin1');  // count events across chunk boundaries
        for (let k = text.indexOf('data:'); k !== -1; k = text.indexOf('data:', k + 5)) events++;
        tail = text.slice(-4);  // shorter than 'data:', so no event is counted twice
      });
      res.on('end', () => resolve({ ok: res.statusCode === 200, ttfb, total: process.hrtime.bigint() - t0, events }));
      res.on('error', () => resolve({ ok: false }));
    });
    req.on('error', () => resolve({ ok: false }));
    req.end(body);
  });
}

async function run(count, offset) {
  const out = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      out.push(await once(offset + i));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const pct = (sorted, p) => sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))]) / 1000 : 0;
await run(warmup, 0);
const res = await run(n, warmup);
const good = res.filter((r) => r.ok);
const ttfb = good.map((r) => r.ttfb).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const total = good.map((r) => r.total).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const events = good.reduce((s, r) => s + r.events, 0) / Math.max(1, good.length);
console.log('BENCH_TTFB ' + JSON.stringify({
  tag: args.tag ?? '', n: good.length, errors: res.length - good.length,
  ttfb_p50_us: Math.round(pct(ttfb, 50)), ttfb_p99_us: Math.round(pct(ttfb, 99)),
  total_p50_us: Math.round(pct(total, 50)), total_p99_us: Math.round(pct(total, 99)),
  events_mean: Math.round(events * 10) / 10,
}));
agent.destroy();
