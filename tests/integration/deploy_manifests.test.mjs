// The deployment files in deploy/ agree with the gateway and with each other, and pass the real tools:
//   - Kubernetes (deploy/kubernetes/*.yaml): every manifest parses; the ConfigMap's slipway config passes
//     `slipway --check-config`; container ports, probe paths, the config and state mounts, the --config path,
//     and every environment variable the config names match that config; selectors match the pod labels;
//     the grace period covers preStop + drain; Secrets referenced exist in the example.
//   - Container (deploy/docker/Dockerfile, no docker daemon here): multi-stage on debian:bookworm-slim, built
//     with CMake, non-root, state_dir on a VOLUME, EXPOSE and HEALTHCHECK on the config's ports; the shipped
//     config passes --check-config; the HEALTHCHECK command itself succeeds against a live gateway.
//   - systemd (deploy/systemd/slipway.service): `systemd-analyze verify` with no warning, hardening
//     directives, StateDirectory = the config's state_dir, reload by SIGHUP, TimeoutStopSec > drain,
//     `systemd-analyze security --offline` exposure at most 2.0 ("OK").
//   - Prometheus rules: `promtool check rules` and `promtool test rules` on the alert rules; every
//     runbook_url anchor exists in docs/runbook.md.
//   - Alertmanager (deploy/alertmanager/alertmanager.yml): `amtool check-config`, and routes: severity=page
//     reaches the on-call receiver, severity=ticket does not.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { SOURCE_DIR, SLIPWAY_BIN, tmpDir, startSim, startGateway, modelConfig, stopAll, withLogs } from '../lib/harness.mjs';
import { which } from '../lib/prometheus.mjs';

const DEPLOY = path.join(SOURCE_DIR, 'deploy');
const read = (p) => fs.readFileSync(path.join(SOURCE_DIR, p), 'utf8');
const promtool = which('promtool');
const amtool = which('amtool');
const systemdAnalyze = which('systemd-analyze');

after(() => stopAll());

/** Runs `slipway --check-config` on `text` with `env` (names the config reads) set to dummy values. */
function checkConfig(text, envNames, label) {
  const file = path.join(tmpDir(), `${label}.yaml`);
  fs.writeFileSync(file, text);
  const env = { ...process.env };
  for (const n of envNames) env[n] = `dummy-${n.toLowerCase()}`;
  return spawnSync(SLIPWAY_BIN, ['--check-config', file], { encoding: 'utf8', env });
}

/** Every environment variable a slipway config names (they must be set at load and at every reload). */
function envNamesOf(cfg) {
  const names = [];
  if (cfg.admin?.token_env) names.push(cfg.admin.token_env);
  for (const m of cfg.models ?? []) {
    for (const v of [m.baseline, m.canary]) if (v?.api_key_env) names.push(v.api_key_env);
  }
  if (cfg.alerting?.webhook?.secret_env) names.push(cfg.alerting.webhook.secret_env);
  return [...new Set(names)];
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

const K8S_DIR = path.join(DEPLOY, 'kubernetes');
const k8sFiles = fs.readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml')).sort();
const docs = [];
for (const f of k8sFiles) {
  for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, f), 'utf8'))) {
    docs.push({ file: f, errors: d.errors, obj: d.toJS() });
  }
}
const objects = docs.map((d) => d.obj).filter(Boolean);
const one = (kind) => {
  const all = objects.filter((o) => o.kind === kind);
  assert.equal(all.length, 1, `exactly one ${kind}`);
  return all[0];
};

test('kubernetes: every manifest parses and names its kind, apiVersion, name and namespace', () => {
  assert.deepEqual(k8sFiles, ['configmap.yaml', 'deployment.yaml', 'kustomization.yaml', 'namespace.yaml',
    'poddisruptionbudget.yaml', 'podmonitor.yaml', 'secret.example.yaml', 'service.yaml']);
  for (const d of docs) {
    assert.deepEqual(d.errors, [], `${d.file}: ${d.errors.map((e) => e.message).join('; ')}`);
    assert.ok(d.obj && d.obj.apiVersion && d.obj.kind, `${d.file}: apiVersion and kind`);
    if (d.obj.kind === 'Kustomization') continue;
    assert.ok(d.obj.metadata?.name, `${d.file}: metadata.name`);
    if (d.obj.kind !== 'Namespace') assert.equal(d.obj.metadata.namespace, 'slipway', `${d.file}: namespace`);
  }
  const kinds = objects.map((o) => `${o.apiVersion} ${o.kind}`).sort();
  for (const k of ['apps/v1 Deployment', 'v1 Service', 'v1 ConfigMap', 'v1 Secret', 'policy/v1 PodDisruptionBudget', 'monitoring.coreos.com/v1 PodMonitor']) {
    assert.ok(kinds.includes(k), `${k} in ${kinds}`);
  }
  // The kustomization lists every manifest but the Secret example.
  const kz = one('Kustomization');
  assert.deepEqual([...kz.resources].sort(), k8sFiles.filter((f) => !['kustomization.yaml', 'secret.example.yaml'].includes(f)));
});

const cm = () => one('ConfigMap');
const deploy = () => one('Deployment');
const container = () => deploy().spec.template.spec.containers.find((c) => c.name === 'slipway');
const slipwayCfg = () => YAML.parse(cm().data['slipway.yaml']);

test('kubernetes: the ConfigMap holds a config that slipway --check-config accepts', () => {
  const text = cm().data['slipway.yaml'];
  assert.ok(text, 'data["slipway.yaml"]');
  const r = checkConfig(text, envNamesOf(YAML.parse(text)), 'configmap');
  assert.equal(r.status, 0, `slipway --check-config rejected the ConfigMap's config:\n${r.stderr}`);
});

test('kubernetes: ports, probes, mounts, args and env match the config', () => {
  const cfg = slipwayCfg();
  const c = container();
  const spec = deploy().spec.template.spec;
  const port = (name) => c.ports.find((p) => p.name === name)?.containerPort;
  assert.equal(port('http'), cfg.listen.port, 'container port "http" = listen.port');
  assert.equal(port('admin'), cfg.admin.port, 'container port "admin" = admin.port');
  assert.equal(cfg.listen.address, '0.0.0.0', 'listen on every pod address');
  assert.equal(cfg.admin.address, '0.0.0.0', 'admin on the pod address (probes, Prometheus)');
  const portOf = (p) => (typeof p === 'string' ? port(p) : p);
  for (const [probe, pathWanted] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz'], ['startupProbe', '/healthz']]) {
    assert.equal(c[probe]?.httpGet?.path, pathWanted, `${probe} path`);
    assert.equal(portOf(c[probe].httpGet.port), cfg.admin.port, `${probe} on the admin port`);
  }

  // --config FILE is the ConfigMap key inside the config volume's mount, mounted as a directory (a subPath
  // mount never sees ConfigMap updates, so hot reload would never happen).
  const args = c.args;
  const configPath = args[args.indexOf('--config') + 1];
  const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.name, m]));
  const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v]));
  const cfgMount = c.volumeMounts.find((m) => volumes[m.name]?.configMap?.name === cm().metadata.name);
  assert.ok(cfgMount, 'the ConfigMap is mounted');
  assert.equal(cfgMount.subPath, undefined, 'no subPath: reload on the ..data symlink swap');
  assert.equal(path.posix.join(cfgMount.mountPath, 'slipway.yaml'), configPath, '--config points into the ConfigMap mount');
  assert.equal(volumes[cfgMount.name].configMap.items, undefined, 'the whole ConfigMap (key slipway.yaml) is mounted');

  // state_dir is a writable volume (the root filesystem is read-only).
  const stateMount = c.volumeMounts.find((m) => m.mountPath === cfg.state_dir);
  assert.ok(stateMount, `a volume is mounted at state_dir ${cfg.state_dir}`);
  assert.notEqual(stateMount.readOnly, true);
  assert.ok(volumes[stateMount.name].emptyDir || volumes[stateMount.name].persistentVolumeClaim, 'state volume');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.ok(mounts.config && mounts.state);

  // Every environment variable the config reads comes from a Secret that the example defines with that key.
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
  const secrets = objects.filter((o) => o.kind === 'Secret');
  const names = envNamesOf(cfg);
  assert.ok(names.includes('SLIPWAY_ADMIN_TOKEN'), 'admin.token_env is set in the config');
  for (const n of names) {
    const ref = env[n]?.valueFrom?.secretKeyRef;
    assert.ok(ref, `env ${n} (named by the config) is set from a Secret`);
    const s = secrets.find((x) => x.metadata.name === ref.name);
    assert.ok(s, `Secret ${ref.name} is in secret.example.yaml`);
    assert.ok(ref.key in (s.stringData ?? s.data ?? {}), `Secret ${ref.name} has key ${ref.key}`);
  }
});

test('kubernetes: graceful termination covers preStop and the drain; non-root; resources', () => {
  const c = container();
  const spec = deploy().spec.template.spec;
  const args = c.args;
  const drain = Number(args[args.indexOf('--drain-timeout') + 1]);
  assert.ok(drain > 0, '--drain-timeout is set');
  const pre = c.lifecycle.preStop.exec.command;
  assert.equal(pre[0], 'sleep');
  const preStop = Number(pre[1]);
  assert.ok(spec.terminationGracePeriodSeconds > preStop + drain,
    `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > preStop ${preStop} + drain ${drain}`);
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.ok(spec.securityContext.runAsUser > 0);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  assert.equal(deploy().spec.strategy.rollingUpdate.maxUnavailable, 0);
});

test('kubernetes: Service, PodMonitor and PodDisruptionBudget select the pods on the right ports', () => {
  const podLabels = deploy().spec.template.metadata.labels;
  const matches = (sel) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  assert.ok(matches(deploy().spec.selector.matchLabels), 'Deployment selector');
  const svc = one('Service');
  assert.ok(matches(svc.spec.selector), 'Service selector');
  const cfg = slipwayCfg();
  const http = svc.spec.ports.find((p) => p.name === 'http');
  const c = container();
  const target = typeof http.targetPort === 'string' ? c.ports.find((p) => p.name === http.targetPort)?.containerPort : http.targetPort;
  assert.equal(target, cfg.listen.port, 'Service targetPort is the main listener');
  assert.ok(!svc.spec.ports.some((p) => [p.targetPort, p.port].includes('admin') || p.targetPort === cfg.admin.port), 'the admin port is not in the Service');
  const pm = one('PodMonitor');
  assert.ok(matches(pm.spec.selector.matchLabels), 'PodMonitor selector');
  const ep = pm.spec.podMetricsEndpoints[0];
  assert.equal(c.ports.find((p) => p.name === ep.port)?.containerPort, cfg.admin.port, 'PodMonitor scrapes the admin port');
  assert.equal(ep.path, '/metrics');
  const pdb = one('PodDisruptionBudget');
  assert.ok(matches(pdb.spec.selector.matchLabels), 'PDB selector');
  assert.ok(pdb.spec.minAvailable < deploy().spec.replicas, 'the PDB lets a drain evict one pod');
});

test('kubernetes: the gateway runs from the ConfigMap laid out as the kubelet mounts it, and reloads on its symlink swap', withLogs(async () => {
  // The kubelet mounts a ConfigMap as <mount>/slipway.yaml -> ..data/slipway.yaml, ..data -> ..<timestamp>/,
  // and applies an update by writing a new ..<timestamp>/ and renaming a new ..data symlink over the old one.
  // Only what cannot work in a test changes: loopback ephemeral ports, a temp state_dir.
  const c = container();
  const args = c.args;
  const mountPath = c.volumeMounts.find((m) => m.name === 'config').mountPath;
  const configArg = args[args.indexOf('--config') + 1];
  const cfg = YAML.parse(cm().data['slipway.yaml']);
  const stateDir = path.join(tmpDir(), 'k8s-state');
  fs.mkdirSync(stateDir, { recursive: true });
  const local = (weight) => {
    const d = YAML.parseDocument(cm().data['slipway.yaml']);
    d.setIn(['listen', 'address'], '127.0.0.1'); d.setIn(['listen', 'port'], 0);
    d.setIn(['admin', 'address'], '127.0.0.1'); d.setIn(['admin', 'port'], 0);
    d.set('state_dir', stateDir);
    if (weight !== undefined) d.setIn(['models', 0, 'canary', 'weight'], weight);
    return d.toString();
  };
  const mount = path.join(tmpDir(), 'k8s-mount');
  fs.mkdirSync(path.join(mount, '..2026_11_23_10_00_00.1'), { recursive: true });
  fs.writeFileSync(path.join(mount, '..2026_11_23_10_00_00.1', 'slipway.yaml'), local());
  fs.symlinkSync('..2026_11_23_10_00_00.1', path.join(mount, '..data'));
  fs.symlinkSync('..data/slipway.yaml', path.join(mount, 'slipway.yaml'));
  const configPath = path.join(mount, path.posix.relative(mountPath, configArg));
  const env = Object.fromEntries(envNamesOf(cfg).map((n) => [n, `dummy-${n.toLowerCase()}`]));
  const gw = await startGateway(null, { configPath, waitReady: false, env, args: args.filter((a, i) => !(a === '--config' || args[i - 1] === '--config')) });
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  const admin = `http://127.0.0.1:${ev.port}`;
  const get = async (p) => { const r = await fetch(`${admin}${p}`); return { status: r.status, text: await r.text() }; };
  // The probes' paths on the admin port: alive; not ready (its backends' DNS names do not resolve here).
  assert.equal((await get(c.livenessProbe.httpGet.path)).status, 200);
  const ready = await get(c.readinessProbe.httpGet.path);
  assert.equal(ready.status, 503, ready.text);
  // The rollout latch file is written to state_dir (the writable volume in the pod).
  const stateFiles = fs.readdirSync(stateDir);
  assert.ok(stateFiles.some((f) => /^rollout-.*\.json$/.test(f)), `rollout state in state_dir: ${stateFiles}`);
  assert.match((await get(one('PodMonitor').spec.podMetricsEndpoints[0].path)).text, /slipway_canary_weight_percent\{model="llama-3\.1-8b-instruct"\}/);

  // kubectl apply of an edited ConfigMap: the kubelet's swap of ..data.
  const mark = gw.proc.lines.length;
  fs.mkdirSync(path.join(mount, '..2026_11_23_10_05_00.2'));
  fs.writeFileSync(path.join(mount, '..2026_11_23_10_05_00.2', 'slipway.yaml'), local(30));
  fs.symlinkSync('..2026_11_23_10_05_00.2', path.join(mount, '..data_tmp'));
  fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  fs.rmSync(path.join(mount, '..2026_11_23_10_00_00.1'), { recursive: true });
  await gw.waitForReload({ from: mark, generation: 2 });
  assert.match((await get('/metrics')).text, /slipway_canary_configured_weight_percent\{model="llama-3\.1-8b-instruct"\} 30\b/);

  // SIGTERM (what the kubelet sends after preStop): drained and exited well within the grace period.
  const t0 = Date.now();
  await gw.stop(deploy().spec.template.spec.terminationGracePeriodSeconds * 1000);
  assert.equal(gw.proc.exitCode, 0);
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms with nothing in flight`);
}));

// ---------------------------------------------------------------------------------------------------
// Container image

function dockerfile() {
  // Join continuation lines, drop comments; [{op, args, stage}]
  const lines = read('deploy/docker/Dockerfile').split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const out = [];
  let stage = -1;
  for (const l of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === 'FROM') stage++;
    out.push({ op: m[1], args: m[2].trim(), stage });
  }
  return out;
}

test('container: multi-stage Dockerfile on debian:bookworm-slim, CMake build, non-root, volume, ports, healthcheck', () => {
  const ins = dockerfile();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const f of froms) assert.match(f.args, /^debian:bookworm-slim\b/);
  const last = froms.length - 1;
  const build = ins.filter((i) => i.stage < last);
  const run = ins.filter((i) => i.stage === last);
  assert.ok(build.some((i) => i.op === 'RUN' && /cmake -S \. -B/.test(i.args) && /ninja -C \S+ slipway/.test(i.args)), 'built with the repo CMake');
  assert.ok(run.some((i) => i.op === 'COPY' && /--from=build/.test(i.args) && /slipway/.test(i.args)), 'binary copied from the build stage');
  assert.ok(!run.some((i) => i.op === 'RUN' && /build-essential|cmake|-dev\b/.test(i.args)), 'no toolchain in the runtime image');

  const user = run.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.ok(user && !/^(0|root)(:|$)/.test(user), `runs as non-root (USER ${user})`);

  // The shipped config: where it is copied, that CMD reads it, and what it says.
  const copyCfg = run.find((i) => i.op === 'COPY' && /slipway\.yaml/.test(i.args)).args.split(/\s+/);
  const cfgDest = copyCfg.at(-1);
  const cmd = JSON.parse(run.find((i) => i.op === 'CMD').args);
  assert.equal(cmd[cmd.indexOf('--config') + 1], cfgDest, 'CMD --config is the copied config');
  assert.deepEqual(JSON.parse(run.find((i) => i.op === 'ENTRYPOINT').args), ['/usr/local/bin/slipway']);
  const cfg = YAML.parse(read(copyCfg.at(-2)));
  const volumes = JSON.parse(run.find((i) => i.op === 'VOLUME').args);
  assert.ok(volumes.includes(cfg.state_dir), `VOLUME ${volumes} holds state_dir ${cfg.state_dir}`);
  const exposed = run.find((i) => i.op === 'EXPOSE').args.split(/\s+/).map(Number);
  assert.ok(exposed.includes(cfg.listen.port) && exposed.includes(cfg.admin.port), `EXPOSE ${exposed}`);
  const hc = run.find((i) => i.op === 'HEALTHCHECK').args;
  assert.match(hc, new RegExp(`/dev/tcp/127\\.0\\.0\\.1/${cfg.admin.port}\\b`));
  assert.match(hc, /GET \/healthz /);
  assert.ok(run.some((i) => i.op === 'STOPSIGNAL' && i.args === 'SIGTERM'));

  const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const p of ['.git', 'build', 'build-*', '**/node_modules']) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
});

test('container: the image config passes slipway --check-config', () => {
  const text = read('deploy/docker/slipway.yaml');
  const r = checkConfig(text, envNamesOf(YAML.parse(text)), 'docker');
  assert.equal(r.status, 0, r.stderr);
});

test('container: the HEALTHCHECK command succeeds against a live admin listener, fails without one', withLogs(async () => {
  const hc = dockerfile().find((i) => i.op === 'HEALTHCHECK').args;
  const argv = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim());
  const sim = await startSim({ model: 'm' });
  const gw = await startGateway(modelConfig({ baseline: sim, extra: { admin: { address: '127.0.0.1', port: 0 } } }));
  const ev = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  const withPort = (p) => argv.map((a) => a.replace('/127.0.0.1/9464', `/127.0.0.1/${p}`));
  const ok = spawnSync(withPort(ev.port)[0], withPort(ev.port).slice(1), { encoding: 'utf8', timeout: 5000 });
  assert.equal(ok.status, 0, `healthcheck against the admin listener: ${ok.stderr}`);
  await gw.stop();
  const down = spawnSync(withPort(ev.port)[0], withPort(ev.port).slice(1), { encoding: 'utf8', timeout: 5000 });
  assert.notEqual(down.status, 0, 'healthcheck fails when nothing listens');
}));

// ---------------------------------------------------------------------------------------------------
// systemd

const unitText = read('deploy/systemd/slipway.service');
function unit() {
  const out = {};
  let section;
  for (const l of unitText.split('\n')) {
    const s = /^\[(\w+)\]$/.exec(l.trim());
    if (s) { section = s[1]; continue; }
    const kv = /^(\w+)=(.*)$/.exec(l);
    if (kv) ((out[section] ??= {})[kv[1]] ??= []).push(kv[2]);
  }
  return out;
}

test('systemd: the unit is hardened, keeps the latch in its StateDirectory, reloads on SIGHUP, outlasts the drain', () => {
  const u = unit();
  const s = Object.fromEntries(Object.entries(u.Service).map(([k, v]) => [k, v.at(-1)]));
  assert.ok(s.DynamicUser === 'yes' || (s.User && s.User !== 'root'), 'a dedicated or dynamic user');
  for (const [k, v] of Object.entries({
    NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectControlGroups: 'yes', RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes', MemoryDenyWriteExecute: 'yes', CapabilityBoundingSet: '', StateDirectory: 'slipway',
  })) assert.equal(s[k], v, `${k}=${v}`);
  assert.equal(s.ExecReload, '/bin/kill -HUP $MAINPID');
  const start = s.ExecStart.split(/\s+/);
  const drain = Number(start[start.indexOf('--drain-timeout') + 1]);
  assert.ok(drain > 0);
  assert.ok(parseInt(s.TimeoutStopSec, 10) > drain, `TimeoutStopSec ${s.TimeoutStopSec} > drain ${drain}`);
  const configPath = start[start.indexOf('--config') + 1];
  assert.equal(configPath, '/etc/slipway/slipway.yaml');
  assert.ok(s.ExecStartPre.includes(`--check-config ${configPath}`), 'the config is checked before start');
  // The unit's state directory is where the example configs for hosts put the latch.
  assert.equal(YAML.parse(read('deploy/docker/slipway.yaml')).state_dir, `/var/lib/${s.StateDirectory}`);
});

test('systemd: systemd-analyze verify has nothing to say; security exposure is OK', { skip: systemdAnalyze ? false : 'systemd-analyze not installed' }, () => {
  // verify checks that ExecStart's binary exists: point the unit at the binary under test.
  const dir = path.join(tmpDir(), 'systemd');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'slipway.service');
  fs.writeFileSync(file, unitText.replaceAll('/usr/local/bin/slipway', SLIPWAY_BIN));
  const v = spawnSync(systemdAnalyze, ['verify', file], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stderr.trim(), '', `systemd-analyze verify warned:\n${v.stderr}`);
  const sec = spawnSync(systemdAnalyze, ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for slipway\.service: ([\d.]+) (\w+)/.exec(sec.stdout + sec.stderr);
  assert.ok(m, sec.stdout + sec.stderr);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}`);
});

// ---------------------------------------------------------------------------------------------------
// Prometheus alert rules and Alertmanager

test('prometheus: promtool checks the alert rules and runs their unit tests', { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' }, () => {
  const check = spawnSync(promtool, ['check', 'rules', path.join(DEPLOY, 'prometheus/alert_rules.yml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 5 rules found/);
  const r = spawnSync(promtool, ['test', 'rules', path.join(DEPLOY, 'prometheus/tests/alert_rules_test.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('prometheus: promtool checks the example prometheus.yml with both rule files', { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' }, () => {
  const r = spawnSync(promtool, ['check', 'config', path.join(DEPLOY, 'prometheus/prometheus.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 13 rules found/);
  assert.match(r.stdout, /SUCCESS: 5 rules found/);
});

test('prometheus: each alert has severity, summary and a runbook_url whose anchor exists in docs/runbook.md', () => {
  const rules = YAML.parse(read('deploy/prometheus/alert_rules.yml')).groups.flatMap((g) => g.rules);
  const names = rules.map((r) => r.alert);
  assert.deepEqual(names, ['SlipwayCanaryRolledBack', 'SlipwayCanarySliBurning', 'SlipwayBackendEndpointDown', 'SlipwayConfigReloadFailing', 'SlipwayGatewayDown']);
  const runbook = read('docs/runbook.md');
  // GitHub-style anchors of the runbook's headings.
  const anchors = new Set([...runbook.matchAll(/^#{1,4} (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
  for (const r of rules) {
    assert.ok(['page', 'ticket'].includes(r.labels.severity), `${r.alert}: severity`);
    assert.ok(r.annotations.summary && r.annotations.description, `${r.alert}: summary, description`);
    const m = /^docs\/runbook\.md#([\w-]+)$/.exec(r.annotations.runbook_url);
    assert.ok(m, `${r.alert}: runbook_url ${r.annotations.runbook_url}`);
    assert.ok(anchors.has(m[1]), `${r.alert}: docs/runbook.md has no heading for #${m[1]} (anchors: ${[...anchors].join(', ')})`);
    assert.ok(runbook.includes(r.alert), `docs/runbook.md names ${r.alert}`);
  }
});

test('alertmanager: amtool check-config; pages reach on-call, tickets do not', { skip: amtool ? false : 'amtool not installed (Debian package prometheus-alertmanager)' }, () => {
  const file = path.join(DEPLOY, 'alertmanager/alertmanager.yml');
  const c = spawnSync(amtool, ['check-config', file], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stdout + c.stderr);
  const route = (...labels) => {
    const r = spawnSync(amtool, ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return r.stdout.trim().split(',');
  };
  assert.deepEqual(route('alertname=SlipwayCanaryRolledBack', 'severity=page', 'model=m'), ['oncall-pager', 'team-webhook']);
  assert.deepEqual(route('alertname=SlipwayGatewayDown', 'severity=page'), ['oncall-pager', 'team-webhook']);
  assert.deepEqual(route('alertname=SlipwayCanarySliBurning', 'severity=ticket'), ['team-webhook']);
  // The gateway's own rollback alert (gateway/alerting.hpp: severity "page") pages too.
  assert.deepEqual(route('alertname=SlipwayCanaryRolledBack', 'severity=page', 'model=m', 'trigger=schema', 'slice=deep'), ['oncall-pager', 'team-webhook']);
});
