// End to end with the official `openai` npm SDK: an application changes only its base URL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSim, startGateway, modelConfig, stopAll, withLogs } from '../lib/harness.mjs';

let gw, client;

before(async () => {
  const timing = { ttftMs: 0, tokenMs: 2, outputTokens: 12 };
  const baseline = await startSim({ model: 'sdk-fp16', name: 'baseline', ...timing });
  const canary = await startSim({ model: 'sdk-int4', name: 'canary', ...timing });
  gw = await startGateway(modelConfig({ name: 'sdk-model', baseline, canary, weight: 50 }));
  client = new OpenAI({ baseURL: gw.base, apiKey: 'test-key', maxRetries: 0, timeout: 20_000 });
});

after(async () => { await stopAll(); });

const messages = [{ role: 'user', content: 'Say something nice.' }];

test('chat completion', withLogs(async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'sdk-model', messages, user: 'sdk-user-1' })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.equal(typeof data.choices[0].message.content, 'string');
  assert.ok(data.choices[0].message.content.length > 0);
  assert.ok(data.usage.total_tokens > 0);
  assert.ok(['baseline', 'canary'].includes(response.headers.get('x-slipway-variant')));
  assert.ok(response.headers.get('x-request-id'));
}));

test('streaming with for await', withLogs(async () => {
  const stream = await client.chat.completions.create({ model: 'sdk-model', messages, stream: true, user: 'sdk-user-2' });
  let content = '';
  let chunks = 0;
  let finish;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.ok(chunks >= 3, `${chunks} chunks`);
  assert.ok(content.length > 0);
  assert.equal(finish, 'stop');

  // include_usage: the SDK sees the usage chunk.
  const s2 = await client.chat.completions.create({ model: 'sdk-model', messages, stream: true, stream_options: { include_usage: true } });
  let usage;
  for await (const chunk of s2) if (chunk.usage) usage = chunk.usage;
  assert.ok(usage?.completion_tokens > 0, 'no usage with include_usage');
}));

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'book_table',
      description: 'Book a restaurant table',
      parameters: {
        type: 'object',
        properties: { restaurant: { type: 'string' }, people: { type: 'integer', minimum: 1, maximum: 12 }, time: { type: 'string' } },
        required: ['restaurant', 'people'],
      },
    },
  },
];

test('tool calls (non-streaming and streaming)', withLogs(async () => {
  const r = await client.chat.completions.create({
    model: 'sdk-model', messages: [{ role: 'user', content: 'Weather in Paris?' }], user: 'sdk-user-3',
    tools, tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const calls = r.choices[0].message.tool_calls;
  assert.ok(Array.isArray(calls) && calls.length >= 1, `no tool_calls: ${JSON.stringify(r.choices[0])}`);
  assert.equal(calls[0].type, 'function');
  assert.equal(calls[0].function.name, 'get_weather');
  const args = JSON.parse(calls[0].function.arguments);
  assert.equal(typeof args.city, 'string');
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit));

  // Streaming: the SDK's helper assembles tool-call deltas.
  const runner = client.chat.completions.stream({
    model: 'sdk-model', messages: [{ role: 'user', content: 'Book a table for 4 at Chez Nous' }], user: 'sdk-user-3',
    tools, tool_choice: 'required',
  });
  const final = await runner.finalChatCompletion();
  const sc = final.choices[0].message.tool_calls;
  assert.ok(sc?.length >= 1, 'no streamed tool calls');
  for (const c of sc) {
    assert.ok(['get_weather', 'book_table'].includes(c.function.name), c.function.name);
    const a = JSON.parse(c.function.arguments);
    assert.equal(typeof a, 'object');
  }
}));

test('structured outputs: response_format json_schema', withLogs(async () => {
  const schema = {
    type: 'object',
    properties: {
      title: { type: 'string' },
      year: { type: 'integer' },
      author: { type: 'object', properties: { name: { type: 'string' }, born: { type: 'integer' } }, required: ['name'] },
      tags: { type: 'array', items: { type: 'string' } },
    },
    required: ['title', 'year', 'author'],
  };
  const r = await client.chat.completions.create({
    model: 'sdk-model', messages: [{ role: 'user', content: 'A book, as JSON.' }], user: 'sdk-user-4',
    response_format: { type: 'json_schema', json_schema: { name: 'book', schema, strict: true } },
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  for (const k of schema.required) assert.ok(k in parsed, `missing ${k} in ${r.choices[0].message.content}`);
  assert.equal(typeof parsed.title, 'string');
  assert.ok(Number.isInteger(parsed.year));
  assert.equal(typeof parsed.author.name, 'string');

  const j = await client.chat.completions.create({
    model: 'sdk-model', messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' },
  });
  assert.equal(typeof JSON.parse(j.choices[0].message.content), 'object');
}));

test('models.list()', withLogs(async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['sdk-model']);
}));

test('an unknown model surfaces as OpenAI.NotFoundError (404)', withLogs(async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /no-such-model/);
      return true;
    },
  );
}));
