// A scriptable misbehaving backend for fault-injection tests: a raw `net` server that speaks just enough
// HTTP/1.1 to be a vLLM endpoint, and that does, per request, exactly one misbehaviour named in the
// request's `x-fault` header (the gateway forwards client headers, so a test picks the fault per request).
//
//   const fb = await startFaultBackend();          // fb.endpoint = "127.0.0.1:PORT"
//   x-fault: events_then_reset; events=3           // 3 SSE events, then a TCP RST
//
// Header syntax: `mode` then optional `; key=value` parameters. Modes (a request without x-fault gets `ok`):
//
//   ok                    a normal answer: chat.completion JSON, or (stream: true) `events` SSE chunks, a finish
//                         chunk, the usage chunk when asked, and [DONE]; content=TEXT sets the answer's text
//   long_string           ok, with the content {"s": "aaa...a!"} of len=N a's (for a pattern like (a+)+$)
//   close                 read the request, then close the connection (FIN) without a byte
//   reset                 read the request, then reset the connection (RST)
//   hang                  read the request, never answer (until the gateway or the test closes the socket)
//   status                answer code=N (500) with body=json (an OpenAI error object) | vllm (older vLLM's
//                         {"object":"error",...}) | html | empty | garbage
//   headers_then_stall    a 200 header (SSE chunked for streams, JSON with a Content-Length else), then nothing
//   events_then_stall     events=N SSE events, then nothing
//   events_then_reset     events=N SSE events, then RST (socket.resetAndDestroy)
//   events_then_close     events=N SSE events, then FIN without the last chunk
//   bad_chunk             events=N SSE events, then a chunk-size line that is not hex
//   garbage               bytes that are not HTTP, then close
//   truncated_event       events=N SSE events, then half an event; framing=chunked (the body then ends
//                         cleanly with the last chunk) or framing=close (no length: the body ends at FIN)
//   endless               SSE events forever, as fast as the gateway reads them (interval_ms=N to pace)
//   big_body              a 200 JSON body of bytes=N (a valid chat.completion; Content-Length N)
//   big_event             one SSE event of bytes=N with no blank line until its end
//   short_length          a JSON body with a Content-Length 16 bytes short of it; the rest stays on the wire
//   long_length           a JSON body with a Content-Length 1000 bytes longer than what is sent, then FIN
//
// Connection-level faults (not per request): refuse() stops listening and drops every open connection
// (connects are refused until listen() again, on the same port); acceptThen('close'|'reset', n) makes
// the next n accepted connections close or reset before reading anything.
//
// GET /health is always 200 (the gateway's active check; tests turn it off or rely on passive health).
// Every socket is tracked and destroyed by close(), so nothing outlives a test.

import net from 'node:net';
import { once } from 'node:events';

const CRLF = '\r\n';

function parseFault(value) {
  const [mode, ...rest] = String(value ?? '').split(';').map((s) => s.trim());
  const params = {};
  for (const kv of rest) {
    if (!kv) continue;
    const eq = kv.indexOf('=');
    params[eq === -1 ? kv : kv.slice(0, eq)] = eq === -1 ? true : kv.slice(eq + 1);
  }
  return { mode: mode || 'ok', params };
}

function chatChunk(model, delta, finish = null, extra = {}) {
  return {
    id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra,
  };
}

function chatCompletion(model, content) {
  return {
    id: 'chatcmpl-fault', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
  };
}

const sse = (obj) => `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`;
const chunk = (text) => {
  const b = Buffer.from(text);
  return Buffer.concat([Buffer.from(b.length.toString(16) + CRLF), b, Buffer.from(CRLF)]);
};

/** Writes `data` and waits until the socket has taken it (backpressure); false when the socket is gone. */
async function write(sock, data) {
  if (sock.destroyed) return false;
  if (sock.write(data)) return true;
  const closed = once(sock, 'close').then(() => false);
  const drained = once(sock, 'drain').then(() => true);
  return Promise.race([closed, drained]);
}

export async function startFaultBackend({ model = 'fault-model', port = 0 } = {}) {
  const sockets = new Set();
  const seen = [];                 // {mode, params, path, stream} per request, in arrival order
  let acceptFaults = [];           // modes for the next accepted connections
  let server;
  let boundPort = port;

  function head(status, headers) {
    const reason = { 200: 'OK', 400: 'Bad Request', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' }[status] ?? 'Status';
    return `HTTP/1.1 ${status} ${reason}${CRLF}${Object.entries(headers).map(([k, v]) => `${k}: ${v}${CRLF}`).join('')}${CRLF}`;
  }
  const sseHead = () => head(200, { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' });
  const contentEvents = (n) => Array.from({ length: n }, (_, i) => sse(chatChunk(model, i === 0 ? { role: 'assistant', content: 'w0 ' } : { content: `w${i} ` })));

  async function sendJson(sock, status, obj, { keepAlive = true } = {}) {
    const body = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
    await write(sock, head(status, { 'content-type': 'application/json', 'content-length': body.length, ...(keepAlive ? {} : { connection: 'close' }) }));
    await write(sock, body);
    if (!keepAlive) sock.end();
  }

  // Answers one request; resolves when the connection may carry the next one (false: it is done).
  async function handle(sock, req) {
    if (req.method === 'GET' && req.path.startsWith('/health')) {
      await sendJson(sock, 200, {});
      return true;
    }
    if (req.method === 'GET' && req.path.startsWith('/v1/models')) {
      await sendJson(sock, 200, { object: 'list', data: [{ id: model, object: 'model' }] });
      return true;
    }
    let body = {};
    try { body = JSON.parse(req.body.toString('utf8') || '{}'); } catch { /* answer anyway */ }
    const stream = body.stream === true;
    const wantsUsage = stream && body.stream_options?.include_usage === true;
    const { mode, params } = parseFault(req.headers['x-fault']);
    const events = Number(params.events ?? 3);
    seen.push({ mode, params, path: req.path, stream });

    switch (mode) {
      case 'ok':
      case 'long_string': {
        const content = mode === 'long_string'
          ? JSON.stringify({ s: `${'a'.repeat(Number(params.len ?? 100_000))}!` })
          : String(params.content ?? 'Hello from the fault backend.');
        if (!stream) {
          await sendJson(sock, 200, chatCompletion(model, content));
          return true;
        }
        await write(sock, sseHead());
        if (mode === 'long_string') await write(sock, chunk(sse(chatChunk(model, { role: 'assistant', content }))));
        else for (const ev of contentEvents(events)) await write(sock, chunk(ev));
        await write(sock, chunk(sse(chatChunk(model, {}, 'stop'))));
        if (wantsUsage) await write(sock, chunk(sse({ id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: 0, model, choices: [], usage: { prompt_tokens: 5, completion_tokens: events, total_tokens: 5 + events } })));
        await write(sock, chunk(sse('[DONE]')));
        return write(sock, `0${CRLF}${CRLF}`);
      }
      case 'close':
        sock.end();
        return false;
      case 'reset':
        sock.resetAndDestroy();
        return false;
      case 'hang':
        return false;   // keep the socket open, read nothing more
      case 'status': {
        const code = Number(params.code ?? 500);
        const kind = params.body ?? 'json';
        if (kind === 'json') await sendJson(sock, code, { error: { message: `fault backend: status ${code}`, type: 'server_error', param: null, code: 'fault_backend_error' } });
        else if (kind === 'vllm') await sendJson(sock, code, { object: 'error', message: `fault backend: status ${code}`, type: 'InternalServerError', param: null, code });
        else if (kind === 'html') {
          const html = `<html><head><title>${code}</title></head><body><h1>${code} Bad Gateway</h1></body></html>`;
          await write(sock, head(code, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) }) + html);
        } else if (kind === 'empty') await write(sock, head(code, { 'content-length': 0 }));
        else await write(sock, head(code, { 'content-type': 'application/json', 'content-length': 9 }) + '\u0001\u0002garbage');
        return true;
      }
      case 'headers_then_stall':
        if (stream) await write(sock, sseHead());
        else await write(sock, head(200, { 'content-type': 'application/json', 'content-length': 1000 }));
        return false;
      case 'events_then_stall':
      case 'events_then_reset':
      case 'events_then_close':
      case 'bad_chunk':
      case 'truncated_event': {
        const framing = params.framing ?? 'chunked';
        if (framing === 'close') await write(sock, head(200, { 'content-type': 'text/event-stream', connection: 'close' }));
        else await write(sock, sseHead());
        for (const ev of contentEvents(events)) await write(sock, framing === 'close' ? ev : chunk(ev));
        // Let the gateway relay what it has before the fault, so the client sees a stream that had started.
        await new Promise((r) => setTimeout(r, 50));
        if (mode === 'events_then_reset') sock.resetAndDestroy();
        else if (mode === 'events_then_close') sock.end();
        else if (mode === 'bad_chunk') { await write(sock, `zz${CRLF}not a chunk${CRLF}`); }
        else if (mode === 'truncated_event') {
          const half = 'data: {"id":"chatcmpl-fault","object":"chat.completion.chunk","choi';
          if (framing === 'close') { await write(sock, half); sock.end(); } else { await write(sock, chunk(half)); await write(sock, `0${CRLF}${CRLF}`); }
        }
        return false;
      }
      case 'garbage':
        await write(sock, Buffer.from('\u0000\u00ff\u0013 this is not HTTP \u0007\r\n\r\n\u0000garbage'));
        sock.end();
        return false;
      case 'endless': {
        const interval = Number(params.interval_ms ?? 0);
        await write(sock, sseHead());
        let i = 0;
        const pad = 'x'.repeat(Number(params.pad ?? 900));
        while (!sock.destroyed) {
          if (!(await write(sock, chunk(sse(chatChunk(model, { content: `${i++} ${pad}` })))))) break;
          if (interval) await new Promise((r) => setTimeout(r, interval));
          else if (i % 64 === 0) await new Promise((r) => setImmediate(r));
        }
        return false;
      }
      case 'big_body': {
        const total = Number(params.bytes ?? 50 * 1024 * 1024);
        const start = Buffer.from(`{"id":"chatcmpl-fault","object":"chat.completion","created":0,"model":${JSON.stringify(model)},`
          + '"choices":[{"index":0,"message":{"role":"assistant","content":"');
        const end = Buffer.from('"},"finish_reason":"stop"}]}');
        const fill = Math.max(0, total - start.length - end.length);
        await write(sock, head(200, { 'content-type': 'application/json', 'content-length': start.length + fill + end.length }));
        await write(sock, start);
        const block = Buffer.alloc(64 * 1024, 'x');
        for (let left = fill; left > 0; left -= block.length) {
          if (!(await write(sock, left >= block.length ? block : block.subarray(0, left)))) return false;
        }
        await write(sock, end);
        return true;
      }
      case 'big_event': {
        const total = Number(params.bytes ?? 8 * 1024 * 1024);
        await write(sock, sseHead());
        await write(sock, chunk('data: {"id":"chatcmpl-fault","choices":[{"index":0,"delta":{"content":"'));
        const block = 'x'.repeat(64 * 1024);
        for (let sent = 0; sent < total && !sock.destroyed; sent += block.length) {
          if (!(await write(sock, chunk(block)))) return false;
        }
        await write(sock, chunk('"}}]}\n\n'));
        await write(sock, chunk(sse('[DONE]')));
        await write(sock, `0${CRLF}${CRLF}`);
        return true;
      }
      case 'short_length': {
        const b = Buffer.from(JSON.stringify(chatCompletion(model, 'The declared length is 16 bytes short.')));
        await write(sock, head(200, { 'content-type': 'application/json', 'content-length': b.length - 16 }));
        await write(sock, b);
        return true;   // as if nothing happened: the next request on this connection is answered normally
      }
      case 'long_length': {
        const b = Buffer.from(JSON.stringify(chatCompletion(model, 'The declared length is 1000 bytes long.')));
        await write(sock, head(200, { 'content-type': 'application/json', 'content-length': b.length + 1000 }));
        await write(sock, b);
        sock.end();
        return false;
      }
      default:
        await sendJson(sock, 400, { object: 'error', message: `fault backend: unknown x-fault mode ${mode}`, type: 'BadRequestError', param: null, code: 400 });
        return true;
    }
  }

  function onConnection(sock) {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const acceptFault = acceptFaults.shift();
    if (acceptFault === 'close') { sock.end(); return; }
    if (acceptFault === 'reset') { sock.resetAndDestroy(); return; }
    let buf = Buffer.alloc(0);
    let busy = false;
    let done = false;
    const pump = async () => {
      if (busy || done) return;
      busy = true;
      try {
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) break;
          const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
          const [method, path] = lines[0].split(' ');
          const headers = {};
          for (const l of lines.slice(1)) {
            const c = l.indexOf(':');
            if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
          }
          const len = Number(headers['content-length'] ?? 0);
          if (buf.length < end + 4 + len) break;
          const body = buf.subarray(end + 4, end + 4 + len);
          buf = buf.subarray(end + 4 + len);
          const more = await handle(sock, { method, path, headers, body });
          if (!more) { done = true; break; }
        }
      } finally {
        busy = false;
      }
      // Bytes that arrived while a request was handled were seen by the loop; later ones call pump() again.
    };
    sock.on('data', (d) => {
      if (done) return;
      buf = Buffer.concat([buf, d]);
      pump().catch(() => sock.destroy());
    });
  }

  async function listen() {
    server = net.createServer(onConnection);
    server.on('error', () => {});
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(boundPort, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    boundPort = server.address().port;
  }
  await listen();

  return {
    get port() { return boundPort; },
    get endpoint() { return `127.0.0.1:${boundPort}`; },
    get url() { return `http://127.0.0.1:${boundPort}`; },
    model,
    /** Requests seen so far ({mode, params, path, stream}), health checks excluded. */
    seen,
    /** Open connections right now (the gateway's pooled ones included). */
    get openConnections() { return sockets.size; },
    /** The next `n` connections are closed ('close') or reset ('reset') as soon as they are accepted; null: none. */
    acceptThen(mode, n = 1) {
      if (mode === null) acceptFaults = [];
      else acceptFaults.push(...Array(n).fill(mode));
    },
    /** Closes every open connection (the gateway's pooled ones too), keeps listening. */
    dropConnections() { for (const s of sockets) s.destroy(); },
    /** Stops listening and drops every connection: connects are refused until listen(). */
    async refuse() {
      await new Promise((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); });
    },
    listen,
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise((r) => server.close(() => r()));
    },
  };
}
