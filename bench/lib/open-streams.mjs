// Holds N slow SSE streams open at once through a target, so bench/run.sh can read the proxy's memory
// with N streams open. Each stream is a streamed chat request whose simulator pacing headers
// (x-sim-token-ms, long) keep it open; a stream counts as open once its first body bytes arrived
// (the role chunk: the whole chain, client -> proxy -> simulator -> back, is established).
// Node's built-in http only. Used by bench/run.sh.
//
// node open-streams.mjs --url http://127.0.0.1:P/v1/chat/completions --body FILE --n 1000
//                       [--headers "A: b\nC: d"] [--ramp 256] [--open-timeout-ms 60000] [--ready FILE]
//                       [--release FILE] [--hold-ms 120000]
// Opens --n streams, at most --ramp not yet open at a time; when all are open (or the open timeout
// passed) it prints BENCH_OPEN {"n":..,"open":..,"failed":..,"open_ms":..} and writes the same line to
// --ready FILE, then keeps every stream open until --release FILE exists (or --hold-ms passed), and
// closes them all (the proxy sees N client disconnects and must cancel N upstream streams).
import http from 'node:http';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const url = new URL(args.url);
const template = fs.readFileSync(args.body, 'utf8').trim();
const n = Number(args.n ?? 1000);
const ramp = Number(args.ramp ?? 256);
const openTimeout = Number(args['open-timeout-ms'] ?? 60000);
const holdMs = Number(args['hold-ms'] ?? 120000);
const extra = {};
for (const line of (args.headers ?? '').split('\n')) {
  const m = line.match(/^\s*([^:]+):\s*(.*)$/);
  if (m) extra[m[1]] = m[2];
}
// One connection per stream: a stream holds its connection for as long as it lasts.
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const requests = [];
let open = 0, failed = 0, pending = 0, started = 0;
const reasons = {};  // why streams failed: HTTP status, error code, or "ended" (too short)
const t0 = Date.now();

function startOne(i) {
  return new Promise((resolve) => {
    const user = `bench-open-${i}`;
    const body = Buffer.from(template.replace('__USER__', user));
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      if (ok) open++;
      else { failed++; reasons[why] = (reasons[why] ?? 0) + 1; }
      resolve();
    };
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-bench-user': user, ...extra },
    }, (res) => {
      if (res.statusCode !== 200) { res.resume(); finish(false, `http_${res.statusCode}`); return; }
      res.once('data', () => finish(true));
      res.on('data', () => {});          // keep reading: a stream the client does not read is another test
      res.on('error', (e) => finish(false, e.code ?? 'error'));
      res.on('end', () => finish(false, 'ended')); // ended before it was counted: the pacing was too short
    });
    req.on('error', (e) => finish(false, e.code ?? 'error'));
    req.end(body);
    requests.push(req);
  });
}

await new Promise((resolveAll) => {
  const deadline = setTimeout(resolveAll, openTimeout);
  const pump = () => {
    while (pending < ramp && started < n) {
      pending++;
      startOne(started++).then(() => {
        pending--;
        if (open + failed === n) { clearTimeout(deadline); resolveAll(); } else pump();
      });
    }
  };
  pump();
});

const line = JSON.stringify({ n, open, failed, open_ms: Date.now() - t0, ...(failed ? { reasons } : {}) });
console.log('BENCH_OPEN ' + line);
if (args.ready) fs.writeFileSync(args.ready, line + '\n');

const holdUntil = Date.now() + holdMs;
await new Promise((resolve) => {
  const poll = setInterval(() => {
    if ((args.release && fs.existsSync(args.release)) || Date.now() >= holdUntil) { clearInterval(poll); resolve(); }
  }, 50);
});
for (const r of requests) r.destroy();
setTimeout(() => process.exit(0), 200);
