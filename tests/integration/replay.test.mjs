// slipway-replay against simulated vLLMs (docs/replay.md).
// - Two simulators with the same clean profile: every property passes on both sides, exit 0.
// - Candidate with slippage confined to ONE slice (tests/data/replay_slip_nested_schema.yaml: schema
//   violations on schemas nested 3+ levels, p 0.6): exit 1; the report flags nested_schema (and the "all"
//   aggregate it drags down) with the numbers the simulator's own log confirms, and no other slice.
// - A candidate answering HTTP 503 on one slice: those are failures of that side (exit 1), not exit 2.
// - A golden file with bad lines: each reported with its line number on stderr, the rest still runs.
// - An unreachable candidate, a missing file, bad usage: exit 2.
// The golden set is tests/data/replay_sim_golden.jsonl (72 cases the clean simulator can pass).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, stopAll, withLogs, tmpDir, closedPort, SOURCE_DIR } from '../lib/harness.mjs';

const REPLAY_BIN = process.env.SLIPWAY_REPLAY_BIN ?? path.join(SOURCE_DIR, 'build/slipway-replay');
const GOLDEN = path.join(SOURCE_DIR, 'tests/data/replay_sim_golden.jsonl');
const SLICES = ['all', 'flat_schema', 'length', 'math', 'nested_schema', 'refusal', 'tools'];
const RUN_TIMEOUT_MS = 60_000;

let clean1, clean2, slipping;

/** Runs slipway-replay; resolves {code, stdout, stderr, ms}. Killed (and the test fails) past RUN_TIMEOUT_MS. */
function replay(args) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(REPLAY_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`slipway-replay ran over ${RUN_TIMEOUT_MS} ms\n${stderr}`)); }, RUN_TIMEOUT_MS);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

function goldenCases() {
  return fs.readFileSync(GOLDEN, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

const row = (report, slice, property) =>
  report.slices.find((s) => s.name === slice)?.properties.find((p) => p.property === property);

before(async () => {
  // Same profile and seed, no waiting: the two clean simulators answer each case identically.
  const timing = { ttftMs: 0, tokenMs: 0 };
  clean1 = await startSim({ model: 'm', name: 'clean-1', profile: 'tools/vllm-sim/profiles/fp16-clean.yaml', ...timing });
  clean2 = await startSim({ model: 'm', name: 'clean-2', profile: 'tools/vllm-sim/profiles/fp16-clean.yaml', ...timing });
  slipping = await startSim({ model: 'm', name: 'slip-nested', profile: 'tests/data/replay_slip_nested_schema.yaml',
    args: ['--log-requests'], ...timing });
});

after(() => stopAll());

test('two identical clean simulators: every property passes on both sides, exit 0', withLogs(async () => {
  const out = path.join(tmpDir(), 'clean.json');
  const r = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', clean2.url,
    '--concurrency', '8', '--report', out]);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /verdict: \*\*no regression\*\*/);
  assert.match(r.stderr, /no regression \(72 cases/);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(report.regressed, false);
  assert.deepEqual(report.regressed_slices, []);
  assert.equal(report.golden.cases, 72);
  assert.equal(report.baseline.answered, 72);
  assert.equal(report.candidate.answered, 72);
  assert.deepEqual(report.slices.map((s) => s.name), SLICES);
  for (const s of report.slices) {
    for (const p of s.properties) {
      assert.equal(p.baseline.rate, 1, `${s.name}/${p.property} baseline ${JSON.stringify(p)}`);
      assert.equal(p.candidate.rate, 1, `${s.name}/${p.property} candidate`);
      assert.equal(p.flips, 0);
      assert.equal(p.verdict, p.n >= 10 ? 'ok' : 'too_few_cases', `${s.name}/${p.property}`);
    }
  }
  // Every property of the golden format is exercised by this set.
  const props = new Set(report.slices.flatMap((s) => s.properties.map((p) => p.property)));
  for (const p of ['valid', 'valid_json', 'schema_valid', 'tool', 'tool_args_valid', 'refuse', 'answer',
    'answer_normalized', 'length']) assert.ok(props.has(p), `property ${p} is not in the report`);
  assert.equal(row(report, 'nested_schema', 'schema_valid').n, 16);
  assert.equal(row(report, 'refusal', 'refuse').n, 12);
  // Both sides gave the same lengths (same seed, same request ids).
  const all = report.slices[0].completion_tokens;
  assert.equal(all.baseline.median, all.candidate.median);
  assert.ok(all.baseline.median > 0);
}));

test('slippage confined to nested schemas: exit 1, the report names that slice with the true numbers', withLogs(async () => {
  const out = path.join(tmpDir(), 'slip.json');
  const md = path.join(tmpDir(), 'slip.md');
  const logFrom = slipping.proc.lines.length;
  const r = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', slipping.url,
    '--concurrency', '8', '--report', out]);
  assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stderr, /REGRESSION in .*nested_schema/);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));

  // Ground truth from the simulator's request log: which nested cases it answered with a schema violation.
  const slipped = new Set(slipping.proc.events(logFrom)
    .filter((e) => e.event === 'request' && e.slips?.includes('schema_violation'))
    .map((e) => e.x_request_id.replace(/^replay-/, '')));
  const nestedIds = goldenCases().filter((c) => c.slices.includes('nested_schema')).map((c) => c.id);
  assert.ok(slipped.size >= 5, `the profile should have hit several of the 16 nested cases, hit ${slipped.size}`);
  assert.ok([...slipped].every((id) => nestedIds.includes(id)), `slippage outside nested_schema: ${[...slipped]}`);

  const sv = row(report, 'nested_schema', 'schema_valid');
  assert.equal(sv.n, 16);
  assert.equal(sv.baseline.passes, 16);
  assert.equal(sv.candidate.passes, 16 - slipped.size);
  assert.equal(sv.baseline_only, slipped.size);
  assert.equal(sv.flips, slipped.size);
  assert.deepEqual(new Set(sv.lost_ids), slipped);
  assert.ok(Math.abs(sv.difference - (-slipped.size / 16)) < 1e-12);
  assert.ok(sv.ci.upper < 0 && sv.ci.lower < sv.difference && sv.ci.lower >= -1, JSON.stringify(sv.ci));
  assert.equal(sv.verdict, 'regressed');

  assert.ok(report.regressed_slices.includes('nested_schema'));
  // The other slices are untouched; "all" is the aggregate that contains nested_schema.
  for (const name of ['flat_schema', 'tools', 'refusal', 'math', 'length']) {
    const s = report.slices.find((x) => x.name === name);
    assert.equal(s.regressed, false, `${name} flagged`);
    for (const p of s.properties) assert.equal(p.candidate.rate, p.baseline.rate, `${name}/${p.property}`);
  }
  assert.deepEqual(report.regressed_slices.filter((s) => s !== 'all'), ['nested_schema']);

  // The Markdown on stdout says the same, with the numbers.
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const line = r.stdout.split('\n').find((l) => l.startsWith('| nested_schema | schema_valid |'));
  assert.ok(line, r.stdout);
  assert.ok(line.includes(`| 16 | 100.0% | ${pct(sv.candidate.rate)} |`), line);
  assert.ok(line.includes('**REGRESSED**'), line);
  assert.match(r.stdout, /verdict: \*\*REGRESSION\*\* in .*nested_schema/);
  assert.match(r.stdout, /### nested_schema: schema_valid/);
  for (const l of r.stdout.split('\n').filter((x) => /^\| (flat_schema|tools|refusal|math|length) \|/.test(x)))
    assert.ok(!l.includes('REGRESSED'), l);

  // --report FILE.md writes the same Markdown.
  const r2 = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', slipping.url, '--report', md, '--quiet']);
  assert.equal(r2.code, 1);
  assert.equal(r2.stdout, '');
  const text = fs.readFileSync(md, 'utf8');
  assert.match(text, /^# slipway-replay report/);
  assert.ok(text.includes(line), 'the .md report has the same nested_schema row');
}));

test('thresholds file: a looser rule for the slice turns the same run into exit 0', withLogs(async () => {
  const file = path.join(tmpDir(), 'thresholds.yaml');
  fs.writeFileSync(file, [
    'defaults: {max_drop_points: 5, min_cases: 10}',
    'slices:',
    '  nested_schema:',
    '    properties:',
    '      schema_valid: {max_drop_points: 100}',
    '      valid: {enabled: false}',
    '  all: {enabled: false}',
    '',
  ].join('\n'));
  const r = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', slipping.url, '--thresholds', file]);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /\| nested_schema \| valid \|.*not judged \(disabled\)/);

  fs.writeFileSync(file, 'slices:\n  nested_schema: {max_drop: 3}\n');
  const bad = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', slipping.url, '--thresholds', file]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /thresholds\.yaml:2: slices\.nested_schema: unknown key "max_drop"/);
}));

test('HTTP errors of one side are failures of that side\'s properties, not a usage error (exit 1, not 2)', withLogs(async () => {
  // A candidate that answers 503 to every request offering tools (the 12 cases of the tools slice).
  const profile = path.join(tmpDir(), 'tools-503.yaml');
  fs.writeFileSync(profile, 'seed: 11\nfaults:\n  - kind: http_503\n    when: {tools: true}\n');
  const failing = await startSim({ model: 'm', name: 'tools-503', profile, ttftMs: 0, tokenMs: 0 });
  const out = path.join(tmpDir(), 'http-errors.json');
  const r = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', failing.url, '--report', out]);
  assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}`);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(report.candidate.http_errors, 12);
  assert.equal(report.candidate.answered, 72);
  for (const p of ['valid', 'tool', 'tool_args_valid']) {
    const x = row(report, 'tools', p);
    assert.equal(x.baseline.rate, 1, p);
    assert.equal(x.candidate.passes, 0, p);
    assert.equal(x.verdict, 'regressed', p);
  }
  assert.deepEqual(report.regressed_slices.filter((s) => s !== 'all'), ['tools']);
  const c = report.cases.find((x) => x.id === 'tool-00');
  assert.equal(c.candidate.status, 503);
  assert.ok(c.candidate.failed.every((f) => f.why === 'HTTP 503'), JSON.stringify(c.candidate));
  await failing.stop();
}));

test('bad golden lines are reported with their line numbers and skipped; the run goes on', withLogs(async () => {
  const lines = fs.readFileSync(GOLDEN, 'utf8').split('\n').filter((l) => l !== '');
  // Line 3 is not JSON, line 6 has a misspelt property, line 9 repeats an id.
  lines.splice(2, 0, '{"id": "broken", "slices": [');
  lines.splice(5, 0, JSON.stringify({ id: 'typo', request: { messages: [{ role: 'user', content: 'hi' }] }, expect: { refuse_: true } }));
  lines.splice(8, 0, lines[1]);
  const file = path.join(tmpDir(), 'with-bad-lines.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const out = path.join(tmpDir(), 'bad.json');
  const r = await replay(['--golden', file, '--baseline', clean1.url, '--candidate', clean2.url, '--report', out]);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /with-bad-lines\.jsonl:3: skipped: not JSON/);
  assert.match(r.stderr, /with-bad-lines\.jsonl:6: skipped: expect: unknown key "refuse_"/);
  assert.match(r.stderr, /with-bad-lines\.jsonl:9: skipped: id: "nested-00" is used by an earlier line/);
  assert.match(r.stderr, /3 bad line\(s\) skipped, 72 cases to run/);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(report.golden.cases, 72);
  assert.deepEqual(report.bad_lines.map((b) => b.line), [3, 6, 9]);
  assert.equal(report.candidate.answered, 72);
  assert.match(r.stdout, /72 cases, 3 bad lines skipped/);
}));

test('an unreachable candidate, a missing golden file or bad usage: exit 2', withLogs(async () => {
  const port = await closedPort();
  const r = await replay(['--golden', GOLDEN, '--baseline', clean1.url, '--candidate', `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`candidate http://127\\.0\\.0\\.1:${port} is unreachable`));
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);

  const missing = await replay(['--golden', path.join(tmpDir(), 'nope.jsonl'), '--baseline', clean1.url, '--candidate', clean2.url]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.jsonl: cannot open/);

  const usage = await replay(['--golden', GOLDEN, '--baseline', clean1.url]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--candidate are required/);
  const url = await replay(['--golden', GOLDEN, '--baseline', 'ftp://x', '--candidate', clean2.url]);
  assert.equal(url.code, 2);
  assert.match(url.stderr, /not an http/);
}));
