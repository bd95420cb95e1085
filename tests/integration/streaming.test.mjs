// Streaming through the gateway: events are relayed as they arrive (first chunk long before the last),
// the stream assembles to the same shape as a non-streamed answer and ends with [DONE], the usage chunk is
// stripped for clients that did not ask for it (while the backend is asked for it), a client that goes away
// frees the upstream stream, and tool-call deltas survive the relay.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startSim, startGateway, modelConfig, stopAll, withLogs, postJson, chat, readChatStream, waitFor, sleep,
} from '../lib/harness.mjs';

const TOKEN_MS = 50;
const TOKENS = 40;

let sim, gw;

before(async () => {
  // Baseline only (no canary): every request lands on this one simulator, whose stats we watch.
  sim = await startSim({ model: 'm-fp16', name: 'baseline', ttftMs: 0, tokenMs: TOKEN_MS, outputTokens: TOKENS });
  gw = await startGateway(modelConfig({ name: 'm', baseline: sim }));
});

after(async () => { await stopAll(); });

function streamRequest(extra = {}, headers = {}) {
  const t0 = performance.now();
  const res = fetch(`${gw.base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chat('m', 'Tell me a story.', { stream: true, ...extra })),
  });
  return { t0, res };
}

test('a stream is relayed event by event: the first chunk arrives long before the last', withLogs(async () => {
  const { t0, res } = streamRequest();
  const r = await res;
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.equal((r.headers.get('x-accel-buffering') ?? '').toLowerCase(), 'no', 'X-Accel-Buffering: no is missing');
  const s = await readChatStream(r);
  const first = s.firstAt - t0;
  const total = s.lastAt - t0;
  const contentChunks = s.chunks.filter((c) => c.choices?.[0]?.delta?.content);
  assert.ok(contentChunks.length >= 10, `only ${contentChunks.length} content chunks`);
  // The simulator spends ~TOKEN_MS per token: a relay that buffers would deliver everything at the end.
  assert.ok(total >= 1000, `the stream took only ${total.toFixed(0)} ms; the simulator timing is not in effect`);
  assert.ok(first < 500, `first chunk after ${first.toFixed(0)} ms`);
  assert.ok(first < total / 3, `first chunk at ${first.toFixed(0)} ms of ${total.toFixed(0)} ms: buffered?`);
  assert.deepEqual(s.errors, []);
}));

test('chunks arrive spread over time, not in a few bursts', withLogs(async () => {
  const { res } = streamRequest();
  const r = await res;
  const times = [];
  const { sseEvents } = await import('../lib/harness.mjs');
  for await (const ev of sseEvents(r)) times.push(ev.t);
  // Count gaps of at least TOKEN_MS/2 between consecutive events: a relay that batches has few of them.
  let gaps = 0;
  for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] >= TOKEN_MS / 2) gaps++;
  assert.ok(gaps >= (times.length - 3) * 0.6, `only ${gaps} of ${times.length - 1} inter-event gaps reflect the token pace`);
}));

test('the assembled stream has the non-streamed answer\'s shape and ends with data: [DONE]', withLogs(async () => {
  const nonStream = await postJson(`${gw.base}/chat/completions`, chat('m', 'Tell me a story.'));
  assert.equal(nonStream.status, 200);
  const msg = nonStream.json.choices[0].message;
  assert.equal(nonStream.json.object, 'chat.completion');
  assert.equal(msg.role, 'assistant');
  assert.equal(typeof msg.content, 'string');

  const { res } = streamRequest();
  const s = await readChatStream(await res);
  assert.equal(s.done, true, 'no data: [DONE]');
  assert.equal(s.doneIsLast, true, 'events after data: [DONE]');
  assert.equal(s.role, 'assistant');
  assert.ok(s.content.length > 0, 'empty content');
  assert.equal(typeof s.content, typeof msg.content);
  assert.equal(s.finish_reason, nonStream.json.choices[0].finish_reason);
  for (const c of s.chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, s.id, 'chunk ids differ within one stream');
  }
  // Same client-visible model name in both forms.
  assert.equal(s.chunks[0].model, nonStream.json.model);
  // Roughly as many words as the non-streamed answer (both ~TOKENS tokens ± 30%).
  const words = (t) => t.trim().split(/\s+/).length;
  assert.ok(Math.abs(words(s.content) - words(msg.content)) <= TOKENS, `${words(s.content)} vs ${words(msg.content)} words`);
}));

test('usage: not sent to a client that did not ask, sent when asked; the backend is always asked', withLogs(async () => {
  const s1 = await readChatStream(await streamRequest().res);
  assert.equal(s1.done, true);
  assert.deepEqual(s1.usageChunks.map((c) => c.usage), [], 'usage sent to a client that did not ask for it');
  assert.ok(s1.chunks.every((c) => c.choices?.length > 0), 'an empty-choices chunk reached a client that did not ask for usage');
  const st = await sim.stats();
  assert.equal(st.last_request.stream, true);
  assert.match(String(JSON.stringify(st.last_request.stream_options)), /include_usage\\?"?\s*:\s*true/,
    `the gateway did not ask the backend for usage: ${JSON.stringify(st.last_request.stream_options)}`);

  const s2 = await readChatStream(await streamRequest({ stream_options: { include_usage: true } }).res);
  assert.equal(s2.done, true);
  assert.equal(s2.usageChunks.length, 1, 'exactly one usage chunk when asked');
  const u = s2.usageChunks[0];
  assert.deepEqual(u.choices, [], 'the usage chunk has choices: []');
  assert.ok(u.usage.completion_tokens > 0 && u.usage.prompt_tokens > 0);
  assert.equal(u.usage.total_tokens, u.usage.prompt_tokens + u.usage.completion_tokens);
  assert.equal(s2.chunks.at(-1), u, 'the usage chunk is the last before [DONE]');
}));

test('a client that disconnects mid-stream frees the upstream stream within 2 s', withLogs(async () => {
  await waitFor(async () => (await sim.stats()).active_streams === 0, { timeoutMs: 5000, what: 'no active stream before the test' });
  const before = await sim.stats();
  // An endless stream: only a cancellation can end it.
  const chunks = await new Promise((resolve, reject) => {
    const req = http.request(`${gw.base}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': 'endless_stream' },
    }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`status ${res.statusCode}`)); req.destroy(); return; }
      let n = 0;
      res.on('data', () => {
        if (++n === 3) { req.destroy(); resolve(n); }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end(JSON.stringify(chat('m', 'Go on forever.', { stream: true })));
    setTimeout(() => { req.destroy(); reject(new Error('no chunks within 5 s')); }, 5000).unref();
  });
  assert.equal(chunks, 3);
  const tGone = performance.now();
  await waitFor(async () => {
    const st = await sim.stats();
    return st.active_streams === 0 && st.cancelled_streams > before.cancelled_streams;
  }, { timeoutMs: 2000, intervalMs: 50, what: 'the upstream stream to be cancelled (active_streams 0, cancelled_streams + 1)' });
  const after = await sim.stats();
  assert.equal(after.cancelled_streams - before.cancelled_streams, 1);
  assert.ok(performance.now() - tGone <= 2100);

  // A finite stream cut short by the client is cancelled too (not left to run to its end).
  const b2 = await sim.stats();
  const ac = new AbortController();
  const r = await fetch(`${gw.base}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('m', 'A long one.', { stream: true, max_tokens: 1000 })), signal: ac.signal,
  });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  await waitFor(async () => {
    const st = await sim.stats();
    return st.active_streams === 0 && st.cancelled_streams > b2.cancelled_streams;
  }, { timeoutMs: 2000, intervalMs: 50, what: 'the aborted stream to be cancelled upstream' });
  assert.equal((await sim.stats()).completed_streams, b2.completed_streams, 'the aborted stream ran to completion upstream');

  // The gateway still serves.
  const ok = await postJson(`${gw.base}/chat/completions`, chat('m', 'still there?', { max_tokens: 3 }));
  assert.equal(ok.status, 200);
}));

test('streamed tool calls keep their id, name and complete arguments', withLogs(async () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'unit'] },
    },
  }];
  const s = await readChatStream(await streamRequest({ tools, tool_choice: 'required' }).res);
  assert.equal(s.done, true);
  assert.ok(s.tool_calls.length >= 1, `no tool calls in ${JSON.stringify(s.chunks).slice(0, 500)}`);
  const call = s.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.ok(call.id, 'tool call id');
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, 'string');
  assert.ok(['c', 'f'].includes(args.unit));
  assert.equal(s.finish_reason, 'tool_calls');
}));

test('several streams at once are relayed concurrently, not one after the other', withLogs(async () => {
  const t0 = performance.now();
  const streams = await Promise.all(Array.from({ length: 8 }, () => streamRequest().res.then(readChatStream)));
  const elapsed = performance.now() - t0;
  for (const s of streams) assert.equal(s.done, true);
  const longest = Math.max(...streams.map((s) => s.lastAt - t0));
  // One stream takes ~TOKENS*TOKEN_MS (± 30%); eight in sequence would take 8x.
  assert.ok(elapsed < 3 * TOKENS * TOKEN_MS * 1.3, `8 concurrent streams took ${elapsed.toFixed(0)} ms (longest ${longest.toFixed(0)})`);
  assert.ok(gw.proc.alive);
  await sleep(10);
}));

test('answers larger than the read room and fast streams alternate on the pooled connection, each arriving whole', withLogs(async () => {
  // One request at a time to one backend: the gateway reuses its pooled upstream connection, whose read buffer
  // grows for whole answers and shrinks again when a stream starts (UpstreamConnection::shrink_for_stream;
  // tests/unit/upstream_connection_test.cpp checks that it keeps the bytes that came with the head).
  const fast = { 'x-sim-ttft-ms': '0', 'x-sim-token-ms': '0' };
  for (let round = 0; round < 3; round++) {
    const whole = await postJson(`${gw.base}/chat/completions`, chat('m', 'Tell me a long story.'),
      { headers: { ...fast, 'x-sim-output-tokens': '4000' } });
    assert.equal(whole.status, 200, whole.text.slice(0, 300));
    assert.ok(whole.text.length > 16 * 1024, `the whole answer is only ${whole.text.length} bytes`);
    const words = whole.json.choices[0].message.content.trim().split(/\s+/).length;
    assert.ok(words >= 2800, `${words} words in a 4000-token answer`);

    const { res } = streamRequest({}, { ...fast, 'x-sim-output-tokens': '300' });
    const s = await readChatStream(await res);
    assert.deepEqual(s.errors, []);
    assert.equal(s.done, true, 'no data: [DONE]');
    assert.equal(s.role, 'assistant', 'the first event (the role chunk) is missing');
    const streamed = s.content.trim().split(/\s+/).length;
    assert.ok(streamed >= 210 && streamed <= 390, `${streamed} words in a 300-token stream`);
  }
  assert.ok(gw.proc.alive);
}));
