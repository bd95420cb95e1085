// slipway-validate, the offline CLI on the validators library (docs/validation.md, "slipway-validate"):
// exit 0 for a response with no failing finding, 1 with one, 2 for bad usage or unreadable input; one verdict
// object on stdout naming each finding's kind, detail and JSON pointer; --jsonl answers line by line, in order,
// and goes on after a bad line. Every run is bounded by a timeout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SOURCE_DIR = process.env.SLIPWAY_SOURCE_DIR
  ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const VALIDATE_BIN = process.env.SLIPWAY_VALIDATE_BIN ?? path.join(SOURCE_DIR, 'build/tools/slipway-validate');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slipway-validate-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

function file(name, value) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

function run(args, input) {
  const r = spawnSync(VALIDATE_BIN, args, { input, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.error, undefined, `could not run ${VALIDATE_BIN}: ${r.error}`);
  return r;
}

const schema = {
  type: 'object', additionalProperties: false, required: ['city', 'days'],
  properties: {
    city: { type: 'string', minLength: 1 },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    units: { enum: ['metric', 'imperial'] },
  },
};
const request = {
  model: 'm', messages: [{ role: 'user', content: 'forecast' }],
  response_format: { type: 'json_schema', json_schema: { name: 'forecast', schema } },
};
const completion = (content) => ({
  id: 'c1', object: 'chat.completion', model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

const reqPath = file('req.json', request);

test('a valid structured output: exit 0, ok verdict, no findings', () => {
  const resp = file('ok.json', completion(JSON.stringify({ city: 'Lisbon', days: 3, units: 'metric' })));
  const r = run(['--request', reqPath, '--response', resp]);
  assert.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.ok, true);
  assert.deepEqual(v.findings, []);
  assert.equal(v.refusal, false);
});

test('a schema violation: exit 1, the finding names the pointer and the rule', () => {
  const resp = file('bad.json', completion(JSON.stringify({ city: 'Lisbon', days: 9, extra: true })));
  const r = run(['--request', reqPath, '--response', resp]);
  assert.equal(r.status, 1, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.ok, false);
  const kinds = v.findings.map((f) => f.kind);
  assert.ok(kinds.every((k) => k === 'schema_violation'), JSON.stringify(v.findings));
  const max = v.findings.find((f) => f.path === '/days');
  assert.ok(max, JSON.stringify(v.findings));
  assert.equal(max.detail, '/days: must be <= 7 (maximum)');
  assert.equal(max.failing, true);
  const extra = v.findings.find((f) => f.detail.includes('(additionalProperties)'));
  assert.ok(extra, JSON.stringify(v.findings));
  assert.match(extra.detail, /property 'extra' is not allowed/);
});

test('content that is not JSON: exit 1 with json_invalid', () => {
  const resp = file('notjson.json', completion('```json\n{"city": "Lisbon"}\n```'));
  const r = run(['--request', reqPath, '--response', resp]);
  assert.equal(r.status, 1, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.findings[0].kind, 'json_invalid');
  assert.match(v.findings[0].detail, /wrapped in a ``` fence/);
});

test('a captured SSE stream is assembled before it is checked', () => {
  const content = JSON.stringify({ city: 'Porto', days: 2 });
  const events = [content.slice(0, 7), content.slice(7)].map((piece) => `data: ${JSON.stringify({
    id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
  })}\n\n`);
  events.push(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  events.push('data: [DONE]\n\n');
  const r = run(['--request', reqPath, '--response', file('stream.sse', events.join(''))]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout).ok, true);
});

test('bad usage and unreadable input: exit 2 with a message naming the file', () => {
  const missing = path.join(dir, 'nope.json');
  let r = run(['--request', reqPath, '--response', missing]);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /nope\.json: cannot open/);

  r = run(['--request', reqPath]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--request and --response are both required/);

  r = run(['--bogus']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: slipway-validate/);

  // A request the gateway would answer with a 400 is reported, not validated against.
  const badReq = file('badreq.json', { model: 'm', messages: [], response_format: { type: 'xml' } });
  r = run(['--request', badReq, '--response', file('any.json', completion('{}'))]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /badreq\.json: request rejected .*response_format\.type/);
});

test('--jsonl: one verdict per line, in order; a bad line gets an error and the run goes on', () => {
  const lines = [
    JSON.stringify({ request, response: completion(JSON.stringify({ city: 'Faro', days: 1 })) }),
    'not json at all',
    JSON.stringify({ request, response: completion(JSON.stringify({ city: '', days: 1 })) }),
    JSON.stringify({ request: { model: 'm', messages: [], response_format: { type: 'xml' } }, response: completion('{}') }),
  ];
  const r = run(['--jsonl', '-'], lines.join('\n') + '\n');
  assert.equal(r.status, 1, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(out.length, 4);
  assert.deepEqual(out.map((o) => o.line), [1, 2, 3, 4]);
  assert.equal(out[0].ok, true);
  assert.match(out[1].error, /line is not JSON/);
  assert.equal(out[2].ok, false);
  assert.equal(out[2].findings[0].path, '/city');
  assert.match(out[2].findings[0].detail, /\(minLength\)/);
  assert.match(out[3].error, /request rejected \(HTTP 400\)/);
  assert.equal(out[3].param, 'response_format.type');
});
