// HTTP/1.1 on a raw socket, for tests that must see what fetch() hides: whether and when the gateway
// closed the connection, the exact chunked framing of a stream, several pipelined answers on one
// connection, or a client that sends its bytes slowly or never reads.

import net from 'node:net';

/**
 * Connects to 127.0.0.1:port, writes `request` (string/Buffer, or an array written one after another),
 * and collects every byte until the gateway closes the connection or `timeoutMs` passes (then the socket
 * is destroyed and `closedByPeer` is false). Returns { bytes, closedByPeer, ms, error }.
 */
export function exchange(port, request, { timeoutMs = 10_000 } = {}) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const parts = [];
    let settled = false;
    const sock = net.connect(port, '127.0.0.1');
    const finish = (closedByPeer, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(parts), closedByPeer, ms: performance.now() - t0, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('connect', () => {
      for (const r of Array.isArray(request) ? request : [request]) sock.write(r);
    });
    sock.on('data', (d) => parts.push(d));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => finish(true, e.code ?? e.message));
  });
}

/** A request's bytes: method, path, headers (object), body (string/Buffer; sets Content-Length). */
export function requestBytes({ method = 'POST', path = '/v1/chat/completions', headers = {}, body } = {}) {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const h = { host: 'gateway', ...(b ? { 'content-type': 'application/json', 'content-length': b.length } : {}), ...headers };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return b ? Buffer.concat([Buffer.from(head), b]) : Buffer.from(head);
}

/**
 * Splits `bytes` into HTTP responses (Content-Length or chunked bodies). Returns a list of
 * { status, headers, body (Buffer), complete } where `complete` is false for a body cut short (no last
 * chunk, fewer bytes than declared) and for a close-delimited body.
 */
export function parseResponses(bytes) {
  const out = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    at = end + 4;
    if (status === 100) continue;
    if ((headers['transfer-encoding'] ?? '').includes('chunked')) {
      const chunks = [];
      let complete = false;
      for (;;) {
        const eol = bytes.indexOf('\r\n', at);
        if (eol === -1) break;
        const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const trailerEnd = bytes.indexOf('\r\n\r\n', eol);
          at = trailerEnd === -1 ? bytes.length : trailerEnd + 4;
          complete = true;
          break;
        }
        if (eol + 2 + size > bytes.length) { chunks.push(bytes.subarray(eol + 2)); at = bytes.length; break; }
        chunks.push(bytes.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      out.push({ status, headers, body: Buffer.concat(chunks), complete });
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      const body = bytes.subarray(at, Math.min(bytes.length, at + len));
      out.push({ status, headers, body, complete: body.length === len });
      at += len;
    } else {
      out.push({ status, headers, body: bytes.subarray(at), complete: false });
      at = bytes.length;
    }
  }
  return out;
}

/** The `data:` payloads of an SSE body, in order; a trailing partial event is returned as { partial }. */
export function sseData(body) {
  const text = body.toString('utf8').replace(/\r\n/g, '\n');
  const events = text.split('\n\n');
  const tail = events.pop();
  const data = events
    .map((ev) => ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
    .filter((d) => d !== '');
  return tail.trim() ? [...data, { partial: tail }] : data;
}
