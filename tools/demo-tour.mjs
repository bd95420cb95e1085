#!/usr/bin/env node
// The guided part of ./demo.sh: watches the gateway's rollout state through the admin API and, when the
// canary is rolled back, shows it in the terminal with the trigger's numbers, checks that Prometheus and
// Alertmanager see it too, and says where to click and how to resume.
//
//   node tools/demo-tour.mjs --admin URL --token TOKEN [--prometheus URL] [--alertmanager URL] [--model NAME]
//                            [--exit 1]   (exit 0 once the rollback is shown, instead of staying up)
//
// Prints one progress line every 15 s while waiting ("schema_compliance on deep_schema: canary 31% (n=42) vs
// baseline 0% (n=160), p=0.02, fires below 1.7e-05"), then the rollback box. Exits 0 on SIGTERM/SIGINT.

const opts = { admin: 'http://127.0.0.1:8081', token: '', prometheus: '', alertmanager: '', model: 'demo', exit: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, '');
  if (!(key in opts) || i + 1 >= argv.length) {
    console.error(`demo-tour: unknown or incomplete argument ${argv[i]}`);
    process.exit(2);
  }
  opts[key] = argv[++i];
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const sci = (x) => (x === null || x === undefined ? '-' : Number(x).toPrecision(2));

async function getJson(url, headers = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

async function modelState() {
  const s = await getJson(`${opts.admin}/admin/v1/state`, { authorization: `Bearer ${opts.token}` });
  return s.models.find((m) => m.model === opts.model);
}

// The trigger closest to firing: smallest p-value relative to its threshold, among those past min sample.
function closest(triggers) {
  const ready = triggers.filter((t) => t.verdict !== 'min_sample');
  const pool = ready.length ? ready : triggers;
  return pool.slice().sort((a, b) => a.p_value / a.threshold - b.p_value / b.threshold)[0];
}

function describe(t) {
  if (!t) return 'no trigger results yet';
  const side = (rate, n) => `${pct(rate)} (n=${n})`;
  const head = `${t.trigger} on ${t.slice}: canary ${side(t.canary_rate, t.canary_n)} vs baseline ${side(t.baseline_rate, t.baseline_n)}`;
  if (t.verdict === 'min_sample') return `${head}, waiting for ${t.min_samples} per variant`;
  return `${head}, p=${sci(t.p_value)}, fires below ${sci(t.threshold)}`;
}

const started = Date.now();
let lastProgress = 0;
let state;
for (;;) {
  try {
    state = await modelState();
  } catch (e) {
    await sleep(1000);
    continue;
  }
  if (state?.rollout?.latched) break;
  if (Date.now() - lastProgress >= 15_000) {
    lastProgress = Date.now();
    const secs = Math.round((Date.now() - started) / 1000);
    console.log(`[tour ${secs}s] canary weight ${state?.effective_weight}%; closest trigger: ${describe(closest(state?.rollout?.triggers ?? []))}`);
  }
  await sleep(1000);
}

const r = state.rollout;
const n = r.reason?.numbers ?? {};
const secs = Math.round((Date.now() - started) / 1000);
const lines = [
  `CANARY ROLLED BACK after ${secs}s: model ${opts.model}, trigger ${r.reason.trigger} on slice ${r.reason.slice}`,
  `  ${r.reason.sli}: canary ${pct(n.canary_rate ?? 0)} (n=${n.canary_n}) vs baseline ${pct(n.baseline_rate ?? 0)} (n=${n.baseline_n})`,
  `  always-valid p = ${sci(n.p_value)} < ${sci(n.threshold)} (the trigger's share of a 1 %/h false-rollback budget)`,
  `  canary weight: ${state.configured_weight}% configured, ${state.effective_weight}% now; latched at ${r.latched_at}, persisted`,
];
const width = Math.max(...lines.map((l) => l.length)) + 2;
console.log(`\n+${'-'.repeat(width)}+`);
for (const l of lines) console.log(`| ${l.padEnd(width - 1)}|`);
console.log(`+${'-'.repeat(width)}+`);

// The same event as on-call sees it: Prometheus (scraped metric, alert rule) and Alertmanager.
if (opts.prometheus) {
  for (let i = 0; i < 30; i++) {
    try {
      const q = await getJson(`${opts.prometheus}/api/v1/query?query=${encodeURIComponent('slipway_rollback_active == 1')}`);
      if (q.data.result.length) {
        console.log('Prometheus: slipway_rollback_active == 1 for', q.data.result.map((x) => x.metric.model).join(', '));
        break;
      }
    } catch { /* not yet */ }
    await sleep(1000);
  }
}
if (opts.alertmanager) {
  for (let i = 0; i < 30; i++) {
    try {
      const alerts = (await getJson(`${opts.alertmanager}/api/v2/alerts`)).filter((a) => a.labels.alertname === 'SlipwayCanaryRolledBack');
      if (alerts.length) {
        const a = alerts[0];
        console.log(`Alertmanager: ${a.labels.alertname} {model=${a.labels.model}, trigger=${a.labels.trigger}, slice=${a.labels.slice}, severity=${a.labels.severity}}: ${a.annotations.summary}`);
        break;
      }
    } catch { /* not yet */ }
    await sleep(1000);
  }
}

console.log(`
Where to look:
  status page      ${opts.admin}/status
  admin state      curl -s -H 'authorization: Bearer ${opts.token}' ${opts.admin}/admin/v1/state`);
if (opts.prometheus) {
  console.log(`  Prometheus       ${opts.prometheus}/graph?g0.expr=${encodeURIComponent('slipway_trigger_p_value / slipway_trigger_threshold')}&g0.tab=0
                   ${opts.prometheus}/alerts`);
}
if (opts.alertmanager) console.log(`  Alertmanager     ${opts.alertmanager}/#/alerts`);
console.log(`  the runbook      docs/runbook.md#canary-rolled-back
Let the canary back in (progressive steps, if configured, start again):
  curl -s -X POST -H 'authorization: Bearer ${opts.token}' -H 'content-type: application/json' \\
    -d '{"reason":"demo: resumed by hand"}' ${opts.admin}/admin/v1/models/${encodeURIComponent(opts.model)}/resume
Traffic keeps running (all on the baseline now); Ctrl-C stops everything.
`);
if (opts.exit) process.exit(0);
// Stay alive (quietly) so demo.sh's process list stays as it was.
setInterval(() => {}, 1 << 30);
