// A real Prometheus for integration tests: scrapes slipway's admin listener on loopback with a short interval,
// optionally with rule files loaded, in a temp directory. Killed when the test file ends (call stop() in an
// after() hook; a process 'exit' handler is the last resort).
//
//   const prom = await startPrometheus({ targets: ['127.0.0.1:9464'], ruleFiles: [...] });
//   const result = await prom.query('up');        // [{metric, value: [t, "v"]}]
//   await prom.stop();

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { closedPort, tmpDir, waitFor } from './harness.mjs';

/** Path of a Debian tool (`prometheus`, `promtool`, `amtool`, ...) or '' when it is not installed. */
export function which(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
}

export const PROMETHEUS_BIN = which('prometheus');

const running = new Set();
process.on('exit', () => {
  for (const p of running) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
});

/**
 * Starts Prometheus on an ephemeral loopback port. Options: targets (host:port list, job "slipway"),
 * ruleFiles (absolute paths), interval (scrape and rule evaluation; default "1s"), name (directory name).
 * Returns { url, port, log, query(expr, {time}), queryRange(expr, start, end, step), waitForScrape(), stop() }.
 */
export async function startPrometheus({ targets, ruleFiles = [], interval = '1s', name = 'prometheus' }) {
  if (!PROMETHEUS_BIN) throw new Error('prometheus is not installed (Debian package prometheus)');
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const dir = path.join(tmpDir(), name);
  fs.mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'prometheus.yml');
  const rules = ruleFiles.length ? ['rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : ['rule_files: []'];
  fs.writeFileSync(cfg, [
    'global:', `  scrape_interval: ${interval}`, `  evaluation_interval: ${interval}`, ...rules,
    'scrape_configs:', '  - job_name: slipway', '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`, '',
  ].join('\n'));
  const log = [];
  const child = spawn(PROMETHEUS_BIN, [
    `--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => log.push(String(d)));
  await waitFor(async () => (await fetch(`${url}/-/ready`)).status === 200, { timeoutMs: 20_000, what: 'prometheus ready' });

  async function api(pathAndQuery) {
    const r = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    const j = await r.json();
    if (j.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${JSON.stringify(j)}`);
    return j.data;
  }
  return {
    url, port, log, dir,
    /** Instant query; returns the result vector ([{metric, value: [t, "v"]}]); throws on a PromQL error. */
    async query(expr, { time } = {}) {
      const t = time !== undefined ? `&time=${time}` : '';
      const data = await api(`/api/v1/query?query=${encodeURIComponent(expr)}${t}`);
      return data.result;
    },
    async rules() { return (await api('/api/v1/rules')).groups; },
    async alerts() { return (await api('/api/v1/alerts')).alerts; },
    /** Waits until every target has been scraped successfully at least once more after now. */
    async waitForScrape({ timeoutMs = 15_000 } = {}) {
      const since = Date.now();
      await waitFor(async () => {
        const { activeTargets } = await api('/api/v1/targets');
        return activeTargets.length > 0 && activeTargets.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > since);
      }, { timeoutMs, intervalMs: 200, what: 'a fresh scrape of every target' });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
        clearTimeout(t);
      }
    },
  };
}
