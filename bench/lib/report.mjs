// Renders bench/run.sh's results as markdown, and inserts a report into docs/benchmarks.md.
//   node report.mjs --meta meta.json --results results.jsonl          > report.md
//   node report.mjs --insert docs/benchmarks.md --report report.md --results results.jsonl
import fs from 'node:fs';

const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf('--' + name); return i >= 0 ? argv[i + 1] : undefined; };
const MARKER = '<!-- bench/run.sh inserts each run below this line, newest first -->';

if (opt('insert')) {
  const file = opt('insert');
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8')
    : '# Benchmarks\n\nProduced by `bench/run.sh` (see bench/README.md).\n\n## Runs\n\n' + MARKER + '\n';
  if (!doc.includes(MARKER)) doc = doc.trimEnd() + '\n\n## Runs\n\n' + MARKER + '\n';
  let block = fs.readFileSync(opt('report'), 'utf8').trimEnd();
  if (opt('results')) {
    block += '\n\n<details><summary>raw results (JSON lines)</summary>\n\n```\n' +
      fs.readFileSync(opt('results'), 'utf8').trimEnd() + '\n```\n\n</details>';
  }
  doc = doc.replace(MARKER, MARKER + '\n\n' + block + '\n');
  fs.writeFileSync(file, doc);
  process.exit(0);
}

const meta = JSON.parse(fs.readFileSync(opt('meta'), 'utf8'));
const rows = fs.readFileSync(opt('results'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

const ms = (us) => (us / 1000).toFixed(us < 10000 ? 3 : 1);
const num = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const ratio = (a, b) => (a && b ? (a / b).toFixed(a / b < 0.1 ? 4 : 2) + '×' : '–');
const signedMs = (us) => (us >= 0 ? '+' : '−') + (Math.abs(us) / 1000).toFixed(3);
const median = (list, key) => {
  const s = [...list].sort((a, b) => key(a) - key(b));
  return s[Math.floor((s.length - 1) / 2)];
};

const targets = meta.targets ?? [...new Set(rows.filter((r) => r.target).map((r) => r.target))];
const workloads = [...new Set(rows.filter((r) => r.kind === 'throughput').map((r) => r.workload))];
const tp = {}; // workload -> target -> row (median of repeats by req/s)
for (const w of workloads) {
  tp[w] = {};
  for (const t of targets) {
    const list = rows.filter((r) => r.kind === 'throughput' && r.workload === w && r.target === t);
    if (list.length) tp[w][t] = median(list, (r) => r.wrk.rps);
  }
}
const cpuPerReq = (r) => (r.proxy && r.wrk.requests ? (r.cpu_ticks / r.clk_tck / r.wrk.requests) * 1e6 : null);
const errors = (w) => w.err_connect + w.err_read + w.err_write + w.err_status + w.err_timeout;

const wdesc = {
  chat: 'small non-streaming chat (≈520-byte `chat.completion`)',
  stream: 'streaming, 200 content chunks per response (≈40 KiB of SSE)',
  schema: 'structured output: `json_schema` response of ≈4 KiB',
  tools: 'tool call: two `tools` offered, `tool_choice: "required"`, the answer is one `tool_calls` entry whose arguments the gateway validates against the function\'s `parameters`',
};

const out = [];
const p = (s = '') => out.push(s);
const load1 = parseFloat(meta.load_before);
p(`### ${meta.date}`);
p();
p(`- Command: \`${meta.command}\` (${meta.elapsed_s} s)`);
p(`- Machine: ${meta.nproc} × ${meta.cpu}, Linux ${meta.kernel}; ${meta.versions}`);
p(`- slipway: ${meta.slipway}, ${meta.build_type || 'Release'} build, \`threads: 1\`, \`log_level: warn\`, 10% canary`);
p(`- Pinning: ${meta.pinned ? `simulators and the proxy under test on core ${meta.proxy_core} (\`taskset\`), wrk and the TTFB client on core ${meta.load_core}` : 'none (fewer than 2 cores)'}; every proxy has one worker (nginx \`worker_processes 1\`, haproxy \`nbthread 1\`, slipway \`threads: 1\`), keep-alive on both sides${meta.nice ? `; everything the benchmark starts runs at \`nice ${meta.nice}\`` : ''}`);
p(`- Load average before the run: ${meta.load_before}; after: ${meta.load_after}` +
  (load1 > 1.0 ? ` — **the machine was busy (load > 1.0 on ${meta.nproc} cores): absolute numbers are low and noisy; compare the ratios**` : ''));
p();
p(`#### Throughput at fixed concurrency (wrk -t1 -c${meta.connections}, ${meta.duration_s} s per cell${meta.repeat > 1 ? `, median of ${meta.repeat}` : ''})`);
p();
p('| workload | target | req/s | × direct | p50 ms | p99 ms | proxy RSS after (MiB) | proxy CPU per request (µs) | errors |');
p('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const w of workloads) {
  for (const t of targets) {
    const r = tp[w][t];
    if (!r) {
      const sk = rows.find((x) => x.kind === 'skip' && x.workload === w && x.target === t);
      p(`| ${w} | ${t} | ${sk ? 'skipped: ' + sk.reason.replace(/\|/g, '/').slice(0, 120) : 'failed'} | | | | | | |`);
      continue;
    }
    const d = tp[w].direct;
    const cpu = cpuPerReq(r);
    p(`| ${w} | ${t} | ${num(r.wrk.rps)} | ${t === 'direct' ? '1' : ratio(r.wrk.rps, d?.wrk.rps)} | ${ms(r.wrk.p50_us)} | ${ms(r.wrk.p99_us)} | ` +
      `${r.proxy ? (r.rss_kib / 1024).toFixed(1) : '–'} | ${cpu === null ? '–' : cpu.toFixed(1)} | ${errors(r.wrk)} |`);
  }
}
p();
p('Workloads: ' + workloads.map((w) => `**${w}**: ${wdesc[w] ?? w}`).join('; ') + '.');
p();

const mine = targets.filter((t) => t.startsWith('slipway'));
const peers = ['direct', 'nginx', 'haproxy', 'portkey'].filter((t) => targets.includes(t));
if (mine.length) {
  p('#### Ratios (slipway ÷ peer; req/s above 1× is better, p99 below 1× is better)');
  p();
  p(`| workload | ${peers.map((x) => `req/s ÷ ${x}`).join(' | ')} | ${peers.map((x) => `p99 ÷ ${x}`).join(' | ')} |`);
  p(`|---|${peers.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`);
  for (const s of mine) {
    for (const w of workloads) {
      const r = tp[w][s];
      const label = mine.length > 1 ? `${w} (${s})` : w;
      p(`| ${label} | ${peers.map((x) => ratio(r?.wrk.rps, tp[w][x]?.wrk.rps)).join(' | ')} | ${peers.map((x) => ratio(r?.wrk.p99_us, tp[w][x]?.wrk.p99_us)).join(' | ')} |`);
    }
  }
  p();
}

// The fixed-rate and TTFB cells may run in several rounds (--repeat): one row per target, each statistic the
// median of its rounds, and the rounds' p99s kept to show the spread.
const byTarget = (list) => [...new Set(list.map((r) => r.target))].map((t) => list.filter((r) => r.target === t));
const medianOf = (list, f) => {
  const s = list.map(f).sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const aggregate = (list, field) => {
  const first = list[0];
  const merged = {};
  for (const [k, v] of Object.entries(first[field])) merged[k] = typeof v === 'number' ? medianOf(list, (r) => r[field][k]) : v;
  return { ...first, [field]: merged, rounds: list.length, cpu_ticks: medianOf(list, (r) => r.cpu_ticks), p99s: list.map((r) => r[field].p99_us ?? r[field].ttfb_p99_us) };
};
const rounds = (r) => (r.rounds > 1 ? ` (${r.p99s.map((x) => ms(x)).join(' / ')})` : '');

const rate = byTarget(rows.filter((r) => r.kind === 'rate')).map((l) => aggregate(l, 'wrk'));
if (rate.length) {
  const d = rate.find((r) => r.target === 'direct');
  const n = Math.max(...rate.map((r) => r.rounds));
  p(`#### Latency at a fixed rate below saturation (chat, ${meta.rate} req/s offered, ${meta.duration_s} s, ${meta.connections} connections${n > 1 ? `, median of ${n} rounds` : ''})`);
  p();
  p(`| target | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms${n > 1 ? ' (each round)' : ''} | added p50 ms | added p99 ms | proxy CPU µs/req | sent > 1 ms late | errors |`);
  p('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rate) {
    const same = Number(r.rate) === Number(meta.rate);
    const add = (k) => (d && r.target !== 'direct' && same ? signedMs(r.wrk[k] - d.wrk[k]) : '–');
    p(`| ${r.target} | ${num(Number(r.rate))}${same ? '' : ' (half its own saturation)'} | ${num(r.wrk.rps)} | ${ms(r.wrk.p50_us)} | ${ms(r.wrk.p90_us)} | ${ms(r.wrk.p99_us)}${rounds(r)} | ${add('p50_us')} | ${add('p99_us')} | ${r.proxy && r.wrk.requests ? num(Math.round((r.cpu_ticks / r.clk_tck) * 1e6 / (r.wrk.answered_with_warmup ?? r.wrk.requests))) : '–'} | ${r.wrk.paced ? num(r.wrk.late) : '–'} | ${errors(r.wrk)} |`);
  }
  p();
  p('"added" = this target minus direct, same run. The rate defaults to half the slowest proxy\'s chat throughput above (Portkey excepted: it runs at half its own). ' +
    (rate.every((r) => r.wrk.paced)
      ? `Load from bench/paced-load: requests evenly spaced in time, each timed from when it was due (so waiting for a free connection counts), on ${meta.connections} keep-alive connections.`
      : 'wrk releases requests on 1 ms timer ticks, so they arrive in bursts of about rate/1000 (a slightly pessimistic arrival pattern, the same for every target).') +
    (n > 1 ? ` Each round runs every target in turn; every column is the median of the rounds (errors too).` : ''));
  p();
}

const ttfb = byTarget(rows.filter((r) => r.kind === 'ttfb')).map((l) => aggregate(l, 'ttfb'));
if (ttfb.length) {
  const d = ttfb.find((r) => r.target === 'direct');
  const n = Math.max(...ttfb.map((r) => r.rounds));
  p(`#### Streams: time to first byte and to the end (one request at a time, 200-chunk stream${n > 1 ? `, median of ${n} rounds` : ''})`);
  p();
  p(`| target | requests | TTFB p50 ms | TTFB p99 ms${n > 1 ? ' (each round)' : ''} | added TTFB p50 ms | added TTFB p99 ms | end p50 ms | end p99 ms | SSE events per response |`);
  p('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of ttfb) {
    const x = r.ttfb;
    const add = (k) => (d && r.target !== 'direct' ? signedMs(x[k] - d.ttfb[k]) : '–');
    p(`| ${r.target} | ${x.n}${x.errors ? ` (${x.errors} failed)` : ''} | ${ms(x.ttfb_p50_us)} | ${ms(x.ttfb_p99_us)}${rounds(r)} | ${add('ttfb_p50_us')} | ${add('ttfb_p99_us')} | ${ms(x.total_p50_us)} | ${ms(x.total_p99_us)} | ${x.events_mean} |`);
  }
  p();
  p('Measured with Node\'s http client (bench/lib/ttfb.mjs) on keep-alive connections; the first byte is the first SSE event. The client\'s own cost is in every row, so compare the "added" columns.');
  p();
}

const open = rows.filter((r) => r.kind === 'open');
const perStream = (r) => ((r.rss_open_kib - r.rss_idle_kib) * 1024) / r.n;
if (open.length) {
  p('#### Many concurrent open streams: memory per open stream');
  p();
  p('| target | streams asked | open at once | failed | time to open all (s) | proxy RSS idle (MiB) | RSS with the streams open (MiB) | per open stream (KiB) |');
  p('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of open) {
    p(`| ${r.target} | ${num(r.n)} | ${num(r.client.open)} | ${r.client.failed} | ${(r.client.open_ms / 1000).toFixed(1)} | ${(r.rss_idle_kib / 1024).toFixed(1)} | ${(r.rss_open_kib / 1024).toFixed(1)} | ${(perStream(r) / 1024).toFixed(1)} |`);
  }
  p();
  p('Each step starts a fresh proxy (connection limits sized for the step), warms it up with 100 streamed requests, reads its idle RSS, then ' +
    'bench/lib/open-streams.mjs opens that many slow streams (`x-sim-token-ms: 3000`: one event every 3 s after the first) and holds them; ' +
    'RSS is read 2 s after every stream got its first event. Per open stream = (RSS with N open − idle RSS) ÷ N; it includes the ' +
    `proxy's upstream connection for that stream. Every stream holds two descriptors in the proxy, so N is capped below the open-files limit (${open[0].fd_limit} here).`);
  p();
}

// where slipway stands against issue 8's goals
const idle = rows.filter((r) => r.kind === 'idle');
if (mine.length) {
  p('#### Against the goals (issue 8)');
  p();
  for (const s of mine) {
    const c = tp.chat?.[s];
    const lines = [];
    if (c && tp.chat.haproxy) {
      const x = c.wrk.rps / tp.chat.haproxy.wrk.rps;
      lines.push(`throughput ≥ haproxy's (chat): ${x.toFixed(2)}× → ${x >= 1 ? 'met' : 'not met'}`);
    }
    if (c && tp.chat.portkey) {
      const x = c.wrk.rps / tp.chat.portkey.wrk.rps;
      lines.push(`≥ 50× Portkey's: ${x.toFixed(0)}× → ${x >= 50 ? 'met' : 'not met'}`);
    }
    const rs = rate.find((r) => r.target === s), rd = rate.find((r) => r.target === 'direct');
    if (rs && rd) {
      const a50 = rs.wrk.p50_us - rd.wrk.p50_us, a99 = rs.wrk.p99_us - rd.wrk.p99_us;
      lines.push(`added p50 ≤ 0.1 ms: ${signedMs(a50)} ms → ${a50 <= 100 ? 'met' : 'not met'}`);
      lines.push(`added p99 ≤ 1 ms: ${signedMs(a99)} ms → ${a99 <= 1000 ? 'met' : 'not met'}`);
    }
    const ts = ttfb.find((r) => r.target === s), td = ttfb.find((r) => r.target === 'direct');
    if (ts && td) {
      const a = ts.ttfb.ttfb_p50_us - td.ttfb.ttfb_p50_us;
      lines.push(`added TTFT ≤ 0.2 ms (p50): ${signedMs(a)} ms → ${a <= 200 ? 'met' : 'not met'}`);
      const a99 = ts.ttfb.ttfb_p99_us - td.ttfb.ttfb_p99_us;
      lines.push(`added TTFT p99: ${signedMs(a99)} ms`);
    }
    const os = open.filter((r) => r.target === s);
    for (const r of os) {
      const k = perStream(r) / 1024;
      lines.push(`≤ 32 KiB per open stream at ${num(r.n)}: ${k.toFixed(1)} KiB${r.client.open < r.n ? ` (only ${r.client.open} opened)` : ''} → ${k <= 32 && r.client.open === r.n ? 'met' : 'not met'}`);
    }
    const i = idle.find((r) => r.target === s);
    if (i && !os.length) lines.push(`idle RSS ${(i.rss_kib / 1024).toFixed(1)} MiB (memory per open stream not measured in this run)`);
    p(`- **${s}**: ${lines.join('; ')}.${load1 > 1.0 ? ' (Busy machine: not conclusive.)' : ''}`);
  }
  p();
}
process.stdout.write(out.join('\n') + '\n');
