#!/usr/bin/env node
// Mixed OpenAI traffic for the slipway demo, sent with the official `openai` SDK (from tests/node_modules).
//
//   node tools/demo-traffic.mjs [--duration SECONDS] [--rate N] [--base-url URL] [--model NAME]
//                               [--interval SECONDS] [--users N]
//
// Mixes plain chat, JSON mode, json_schema structured outputs (a nested schema), tool calls (2-3 tools, and
// sometimes 6+), streaming (content and tool calls), French prompts (header x-lang: fr), long prompts
// (> 32k characters, ~8k+ tokens), and pinned high-stakes requests (header x-slipway-tier: high-stakes).
// Users come from a pool so that stickiness shows: a user never changes variant while the weight holds.
// Counts requests per variant from the x-slipway-variant response header, checks each answer on the client
// side (JSON parses, required keys present, tool calls name a declared tool with JSON arguments), and prints
// one summary line every few seconds. Stops after --duration seconds (0: until interrupted).

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const requireFromTests = createRequire(path.join(here, '..', 'tests', 'package.json'));
let OpenAI;
try {
  OpenAI = requireFromTests('openai');
} catch (e) {
  console.error('demo-traffic: the openai SDK is not installed; run: (cd tests && npm ci)');
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------------------------------
const opts = { duration: 0, rate: 10, baseUrl: 'http://127.0.0.1:8080/v1', model: 'demo', interval: 3, users: 200 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) { console.error(`demo-traffic: ${a} needs a value`); process.exit(2); }
    return argv[++i];
  };
  switch (a) {
    case '--duration': opts.duration = Number(val()); break;
    case '--rate': opts.rate = Number(val()); break;
    case '--base-url': opts.baseUrl = val(); break;
    case '--model': opts.model = val(); break;
    case '--interval': opts.interval = Number(val()); break;
    case '--users': opts.users = Number(val()); break;
    case '-h': case '--help':
      console.log('usage: demo-traffic.mjs [--duration S] [--rate N] [--base-url URL] [--model NAME] [--interval S] [--users N]');
      process.exit(0);
      break;
    default: console.error(`demo-traffic: unknown argument ${a}`); process.exit(2);
  }
}
for (const k of ['duration', 'rate', 'interval', 'users']) {
  if (!Number.isFinite(opts[k]) || opts[k] < 0 || (k !== 'duration' && opts[k] === 0)) {
    console.error(`demo-traffic: bad --${k}: ${opts[k]}`);
    process.exit(2);
  }
}

const client = new OpenAI({ baseURL: opts.baseUrl, apiKey: 'demo', maxRetries: 0, timeout: 30_000 });
const MAX_IN_FLIGHT = Math.max(16, Math.ceil(opts.rate * 4));

// ---- deterministic pseudo-randomness (so two demo runs look alike) -----------------------------------
let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 0x100000000;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

// ---- request material --------------------------------------------------------------------------------
const topics = ['the tides', 'sourdough bread', 'binary search', 'the Roman calendar', 'photosynthesis', 'TCP slow start',
  'the Fibonacci numbers', 'glaciers', 'the printing press', 'vector clocks', 'espresso', 'the moons of Jupiter'];
const frTopics = ['les marées', 'le pain au levain', 'la recherche dichotomique', 'les glaciers', 'la photosynthèse'];

const bookSchema = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    year: { type: 'integer', minimum: 1400, maximum: 2100 },
    author: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        born: { type: 'integer' },
        address: {
          type: 'object',
          properties: { city: { type: 'string' }, country: { type: 'string', enum: ['FR', 'DE', 'US', 'JP'] } },
          required: ['city', 'country'],
        },
      },
      required: ['name', 'address'],
    },
    chapters: {
      type: 'array',
      items: { type: 'object', properties: { n: { type: 'integer' }, title: { type: 'string' } }, required: ['n', 'title'] },
    },
  },
  required: ['title', 'year', 'author', 'chapters'],
  additionalProperties: false,
};

const fn = (name, description, properties, required) => ({
  type: 'function',
  function: { name, description, parameters: { type: 'object', properties, required, additionalProperties: false } },
});
const allTools = [
  fn('get_weather', 'Current weather in a city', { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, ['city', 'unit']),
  fn('book_table', 'Book a restaurant table', { restaurant: { type: 'string' }, people: { type: 'integer', minimum: 1, maximum: 12 }, time: { type: 'string' } }, ['restaurant', 'people']),
  fn('convert_currency', 'Convert an amount', { amount: { type: 'number' }, from: { type: 'string' }, to: { type: 'string' } }, ['amount', 'from', 'to']),
  fn('search_docs', 'Search internal documents', { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, ['query']),
  fn('create_ticket', 'Open a support ticket', { title: { type: 'string' }, priority: { type: 'string', enum: ['low', 'normal', 'high'] }, tags: { type: 'array', items: { type: 'string' } } }, ['title', 'priority']),
  fn('send_email', 'Send an email', { to: { type: 'string' }, subject: { type: 'string' }, body: { type: 'string' } }, ['to', 'subject', 'body']),
  fn('get_stock_price', 'Latest price of a stock', { symbol: { type: 'string' } }, ['symbol']),
  fn('schedule_meeting', 'Schedule a meeting', { attendees: { type: 'array', items: { type: 'string' } }, start: { type: 'string' }, minutes: { type: 'integer' } }, ['attendees', 'start']),
];

const longText = (() => {
  const para = 'The committee reviewed the quarterly figures line by line, compared them against the previous year, '
    + 'and noted every deviation larger than two percent together with the explanation given by the owning team. ';
  return para.repeat(Math.ceil(34_000 / para.length));   // ~34k characters: > 8k tokens at ~4 characters a token
})();

// ---- kinds of request ------------------------------------------------------------------------------------
// Each kind builds { params, headers, check(message) -> problem string or null }.
const kinds = [
  { name: 'chat', weight: 25, build: () => ({ params: { messages: [{ role: 'user', content: `Explain ${pick(topics)} in two sentences.` }] } }) },
  { name: 'json', weight: 10, build: () => ({
    params: { messages: [{ role: 'user', content: `Give facts about ${pick(topics)} as a JSON object.` }], response_format: { type: 'json_object' } },
    check: (m) => (parseObject(m.content) ? null : 'json_invalid'),
  }) },
  { name: 'schema', weight: 15, build: () => ({
    params: {
      messages: [{ role: 'user', content: `Invent a book about ${pick(topics)}.` }],
      response_format: { type: 'json_schema', json_schema: { name: 'book', schema: bookSchema, strict: true } },
    },
    check: (m) => {
      const o = parseObject(m.content);
      if (!o) return 'json_invalid';
      if (!bookSchema.required.every((k) => k in o)) return 'schema_missing_key';
      if (typeof o.author !== 'object' || !o.author || !('address' in o.author)) return 'schema_nested';
      return null;
    },
  }) },
  { name: 'tools', weight: 15, build: () => {
    const many = rand() < 0.35;
    const tools = many ? allTools.slice(0, 6 + Math.floor(rand() * 3)) : allTools.slice(0, 2 + Math.floor(rand() * 2));
    return {
      params: { messages: [{ role: 'user', content: `What is the weather in ${pick(['Paris', 'Oslo', 'Lima', 'Kyoto'])}, and book a table for ${1 + Math.floor(rand() * 6)}.` }], tools, tool_choice: rand() < 0.5 ? 'required' : 'auto' },
      check: (m, p) => checkToolCalls(m, p),
    };
  } },
  { name: 'stream', weight: 15, stream: true, build: () => ({ params: { messages: [{ role: 'user', content: `Tell a short story about ${pick(topics)}.` }] } }) },
  { name: 'stream_tools', weight: 5, stream: true, build: () => ({
    params: { messages: [{ role: 'user', content: 'Open a high-priority ticket about the outage.' }], tools: allTools.slice(0, 6), tool_choice: 'required' },
    check: (m, p) => checkToolCalls(m, p),
  }) },
  { name: 'french', weight: 5, build: () => ({ params: { messages: [{ role: 'user', content: `Explique ${pick(frTopics)} en deux phrases.` }] }, headers: { 'x-lang': 'fr' } }) },
  { name: 'long', weight: 4, build: () => ({ params: { messages: [{ role: 'user', content: `${longText}\n\nSummarise the text above in one sentence.` }] } }) },
  { name: 'pinned', weight: 6, pinned: true, build: () => ({ params: { messages: [{ role: 'user', content: 'Draft the dosage note for the pharmacy.' }] }, headers: { 'x-slipway-tier': 'high-stakes' } }) },
];
const totalWeight = kinds.reduce((s, k) => s + k.weight, 0);
function pickKind() {
  let r = rand() * totalWeight;
  for (const k of kinds) if ((r -= k.weight) < 0) return k;
  return kinds[0];
}

function parseObject(text) {
  if (typeof text !== 'string') return null;
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch { return null; }
}

function checkToolCalls(message, params) {
  const calls = message.tool_calls ?? [];
  if (calls.length === 0) return params.tool_choice === 'required' ? 'tool_call_missing' : null;
  const declared = new Map(params.tools.map((t) => [t.function.name, t.function.parameters]));
  for (const c of calls) {
    const schema = declared.get(c.function?.name);
    if (!schema) return 'tool_unknown_function';
    const args = parseObject(c.function.arguments);
    if (!args) return 'tool_args_invalid_json';
    if (!(schema.required ?? []).every((k) => k in args)) return 'tool_args_missing_required';
  }
  return null;
}

// ---- bookkeeping ---------------------------------------------------------------------------------------------
const stats = {
  sent: 0, ok: 0, errors: 0, shed: 0,
  byVariant: { baseline: 0, canary: 0, unknown: 0 },
  badByVariant: { baseline: 0, canary: 0, unknown: 0 },
  errorsByStatus: new Map(),
  problems: new Map(),
  pinned: 0, pinnedOnCanary: 0,
  latencies: [],
};
const userVariant = new Map();
let flips = 0;
let inFlight = 0;

function record(variant, user, kind, ms, problem) {
  const v = variant === 'baseline' || variant === 'canary' ? variant : 'unknown';
  stats.ok++;
  stats.byVariant[v]++;
  stats.latencies.push(ms);
  if (problem) {
    stats.badByVariant[v]++;
    stats.problems.set(`${v}:${problem}`, (stats.problems.get(`${v}:${problem}`) ?? 0) + 1);
  }
  if (kind.pinned) {
    stats.pinned++;
    if (v === 'canary') stats.pinnedOnCanary++;
    return;   // pinned requests do not say anything about the user's assignment
  }
  const prev = userVariant.get(user);
  if (prev && prev !== v) flips++;
  userVariant.set(user, v);
}

async function one() {
  const kind = pickKind();
  const { params, headers = {}, check } = kind.build();
  const user = `demo-user-${Math.floor(rand() * opts.users)}`;
  const body = { model: opts.model, user, ...params };
  const t0 = performance.now();
  stats.sent++;
  inFlight++;
  try {
    let variant;
    let message;
    if (kind.stream) {
      const { data: stream, response } = await client.chat.completions
        .create({ ...body, stream: true }, { headers })
        .withResponse();
      variant = response.headers.get('x-slipway-variant');
      message = { content: '', tool_calls: [] };
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta;
        if (!d) continue;
        if (d.content) message.content += d.content;
        for (const tc of d.tool_calls ?? []) {
          const slot = (message.tool_calls[tc.index] ??= { function: { name: '', arguments: '' } });
          if (tc.function?.name && slot.function.name !== tc.function.name) slot.function.name += tc.function.name;
          if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
        }
      }
      message.tool_calls = message.tool_calls.filter(Boolean);
    } else {
      const { data, response } = await client.chat.completions.create(body, { headers }).withResponse();
      variant = response.headers.get('x-slipway-variant');
      message = data.choices[0]?.message ?? {};
    }
    record(variant, user, kind, performance.now() - t0, check ? check(message, params) : null);
  } catch (err) {
    if (stopping) return;   // cut short by our own shutdown (Ctrl-C stops the servers too): not an error
    stats.errors++;
    const key = err instanceof OpenAI.APIError && err.status ? String(err.status) : (err?.name ?? 'error');
    stats.errorsByStatus.set(key, (stats.errorsByStatus.get(key) ?? 0) + 1);
  } finally {
    inFlight--;
  }
}

// ---- reporting ------------------------------------------------------------------------------------------
const started = performance.now();
function pct(xs, p) {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
let lastLat = [];
function line(final = false) {
  const secs = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  const b = stats.byVariant.baseline;
  const c = stats.byVariant.canary;
  const share = b + c ? ((100 * c) / (b + c)).toFixed(1) : '0.0';
  const canaryUsers = [...userVariant.values()].filter((v) => v === 'canary').length;
  const lat = final ? stats.latencies : stats.latencies.slice(lastLat.length);
  lastLat = stats.latencies.slice();
  const errs = [...stats.errorsByStatus].map(([k, n]) => `${k}:${n}`).join(',');
  const bad = (v) => (stats.byVariant[v] ? ((100 * stats.badByVariant[v]) / stats.byVariant[v]).toFixed(1) : '0.0');
  return `[${secs}s] sent ${stats.sent} ok ${stats.ok} errors ${stats.errors}${errs ? ` (${errs})` : ''}`
    + ` | baseline ${b} (client-side bad ${bad('baseline')}%) canary ${c} (bad ${bad('canary')}%) canary share ${share}%`
    + ` | pinned ${stats.pinned} on canary ${stats.pinnedOnCanary}`
    + ` | users ${userVariant.size} on canary ${canaryUsers} flips ${flips}`
    + ` | p50 ${pct(lat, 50).toFixed(0)}ms p99 ${pct(lat, 99).toFixed(0)}ms${stats.shed ? ` | shed ${stats.shed}` : ''}`;
}

// ---- main loop ------------------------------------------------------------------------------------------
let stopping = false;
const pending = new Set();
const period = 1000 / opts.rate;
let nextAt = performance.now();

const reporter = setInterval(() => console.log(line()), opts.interval * 1000);

async function finish(code) {
  if (stopping) return;
  stopping = true;
  clearInterval(reporter);
  // Let in-flight requests end (bounded by the SDK timeout), but never more than 10 s.
  await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 10_000).unref())]);
  console.log(`${line(true)} | done`);
  const problems = [...stats.problems].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  if (problems) console.log(`client-side problems by variant: ${problems}`);
  process.exit(code ?? (stats.ok > 0 ? 0 : 1));
}
process.on('SIGINT', () => finish());
process.on('SIGTERM', () => finish());

if (opts.duration > 0) setTimeout(() => finish(), opts.duration * 1000);

console.log(`demo-traffic: ${opts.rate} req/s to ${opts.baseUrl} (model ${opts.model}), ${opts.users} users, `
  + `${opts.duration > 0 ? `for ${opts.duration} s` : 'until interrupted'}; a summary every ${opts.interval} s`);

(async function loop() {
  while (!stopping) {
    const now = performance.now();
    if (now < nextAt) {
      await new Promise((r) => setTimeout(r, nextAt - now));
      continue;
    }
    nextAt += period;
    if (nextAt < now - 1000) nextAt = now;   // do not burst to catch up after a stall
    if (inFlight >= MAX_IN_FLIGHT) { stats.shed++; continue; }
    const p = one();
    pending.add(p);
    p.finally(() => pending.delete(p));
  }
})();
