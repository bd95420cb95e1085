// TLS (docs/tls.md): the client and admin listeners serve HTTPS with certificates this test makes with
// the openssl CLI; https:// backends are verified (a CA file), and an expired certificate or a wrong host
// name is refused with a 502 OpenAI error and one log line naming the reason; insecure_skip_verify works
// with a warning; a reload re-reads the certificate files, and a bad one is a rejected reload naming the key.
// The simulator speaks plain HTTP, so each https:// backend is a small node TLS terminator in front of it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
  startSim, startGateway, stopAll, withLogs, chat, tmpDir, toYaml, waitFor, SOURCE_DIR,
} from '../lib/harness.mjs';

let dir;            // certificates
let sim;
const terminators = [];
let good, expired, wrongHost;   // TLS terminators in front of the simulator: { port }
let gw;             // TLS listener, TLS admin, https:// backends verified against the test CA
let adminPort;
let ca;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate signed by the test CA. `san`: subjectAltName; days < 0: already expired. */
function issue(name, { san, serial, days = 2 }) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
    '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial,
    '-days', String(days), '-extfile', `${name}.ext`, '-out', `${name}.crt`);
}

/** A TLS server that pipes every connection to the simulator's plain HTTP port. */
async function startTerminator(name) {
  const server = tls.createServer({
    key: fs.readFileSync(path.join(dir, `${name}.key`)),
    cert: fs.readFileSync(path.join(dir, `${name}.crt`)),
  }, (socket) => {
    const upstream = net.connect(sim.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => {});
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  terminators.push(server);
  return { port: server.address().port };
}

/** One HTTPS request (trusting the test CA); resolves { status, json, text, cert }. */
function httpsRequest(port, reqPath, { method = 'GET', body, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: reqPath, method, ca, agent: false,
      headers: body ? { 'content-type': 'application/json' } : {},
      timeout: timeoutMs,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** The serial number of the certificate the gateway presents to a new connection. */
function peerSerial(port) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

function listenTls(certName) {
  return { cert_file: path.join(dir, `${certName}.crt`), key_file: path.join(dir, `${certName}.key`), handshake_timeout: '1s' };
}

function gatewayConfig({ listenCert = 'gw', extraListen = {} } = {}) {
  const model = (name, port, host = '127.0.0.1') => ({
    name, baseline: { served_model: sim.model, endpoints: [`https://${host}:${port}`] },
  });
  return {
    listen: { address: '127.0.0.1', port: gw?.port ?? 0, tls: listenTls(listenCert), ...extraListen },
    admin: { address: '127.0.0.1', port: 0, tls: listenTls('gw') },
    threads: 2,
    // No active checks: the expired and wrong-name backends must be met by requests, not ejected beforehand.
    health: { check_interval: 0 },
    upstream_tls: { ca_file: path.join(dir, 'ca.crt') },
    models: [model('ok', good.port), model('expired', expired.port), model('wrong-host', wrongHost.port, 'localhost')],
  };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(tmpDir(), 'tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
    '-out', 'ca.crt', '-days', '2', '-subj', '/CN=slipway-test-ca');
  ca = fs.readFileSync(path.join(dir, 'ca.crt'));
  issue('gw', { san: 'IP:127.0.0.1,DNS:localhost', serial: '0x1001' });
  issue('gw-next', { san: 'IP:127.0.0.1,DNS:localhost', serial: '0x2002' });
  issue('backend', { san: 'IP:127.0.0.1,DNS:localhost', serial: '0x3003' });
  issue('backend-expired', { san: 'IP:127.0.0.1,DNS:localhost', serial: '0x4004', days: -1 });
  issue('backend-wrong-host', { san: 'DNS:wrong.example', serial: '0x5005' });

  sim = await startSim({ model: 'sim-model', name: 'sim', ttftMs: 0, tokenMs: 1, outputTokens: 5 });
  good = await startTerminator('backend');
  expired = await startTerminator('backend-expired');
  wrongHost = await startTerminator('backend-wrong-host');

  gw = await startGateway(gatewayConfig(), { waitReady: false });
  const adminEv = await gw.proc.waitForEvent('listening', { pred: (j) => j.listener === 'admin' });
  adminPort = Number(adminEv.port);
  assert.equal(adminEv.tls, true);
  await waitFor(async () => (await httpsRequest(adminPort, '/readyz')).status === 200, { what: 'https /readyz = 200' });
});

after(async () => {
  for (const s of terminators) s.close();
  await stopAll();
});

test('the client listener serves HTTPS: the official OpenAI SDK, non-streaming and streaming', withLogs(async () => {
  const listening = gw.proc.events().find((e) => e.event === 'listening' && e.listener === 'main');
  assert.equal(listening.tls, true);
  // The SDK uses the global fetch; a child process trusts the test CA through NODE_EXTRA_CA_CERTS, as a user would.
  const script = `
    import OpenAI from 'openai';
    const client = new OpenAI({ baseURL: 'https://127.0.0.1:${gw.port}/v1', apiKey: 'k', maxRetries: 0, timeout: 10000 });
    const whole = await client.chat.completions.create({ model: 'ok', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    const stream = await client.chat.completions.create({ model: 'ok', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true });
    let chunks = 0, text = '', finish = null;
    for await (const c of stream) { chunks++; text += c.choices[0]?.delta?.content ?? ''; finish = c.choices[0]?.finish_reason ?? finish; }
    console.log(JSON.stringify({ whole: whole.choices[0].message.content, finish: whole.choices[0].finish_reason, chunks, text, streamFinish: finish }));
  `;
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.join(SOURCE_DIR, 'tests'), env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout.trim().split('\n').pop()));
      else reject(new Error(`SDK client exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
  assert.ok(out.whole.length > 0, 'non-streaming answer has content');
  assert.ok(['stop', 'length'].includes(out.finish), `finish_reason ${out.finish}`);
  assert.ok(out.chunks >= 5, `streamed ${out.chunks} chunks`);
  assert.ok(out.text.length > 0);
  assert.ok(['stop', 'length'].includes(out.streamFinish), `stream finish_reason ${out.streamFinish}`);
}));

test('plain HTTP to the TLS port gets a clear 400; a silent client is cut off; the gateway keeps serving', withLogs(async () => {
  const plain = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/v1/models', agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(plain.status, 400);
  assert.equal(plain.json.error.code, 'plain_http_to_https_port');
  assert.match(plain.json.error.message, /HTTPS/);
  await gw.proc.waitForEvent('tls_handshake_failed', { pred: (j) => j.listener === 'main' && /http request/.test(j.reason) });

  // Connects and never says a word: cut off after listen.tls.handshake_timeout (1s here).
  const t0 = performance.now();
  const closedAfterMs = await new Promise((resolve, reject) => {
    const s = net.connect(gw.port, '127.0.0.1');
    s.on('close', () => resolve(performance.now() - t0));
    s.on('error', () => {});
    setTimeout(() => { s.destroy(); reject(new Error('a silent client was not cut off within 5 s')); }, 5000);
  });
  assert.ok(closedAfterMs >= 800 && closedAfterMs < 3000, `silent client closed after ${closedAfterMs.toFixed(0)} ms`);
  await gw.proc.waitForEvent('tls_handshake_failed', { pred: (j) => j.listener === 'main' && /timed out/.test(j.reason) });

  const r = await httpsRequest(gw.port, '/v1/chat/completions', { method: 'POST', body: chat('ok', 'hi', { max_tokens: 3 }) });
  assert.equal(r.status, 200, r.text);
  assert.ok(gw.proc.alive);
}));

test('the admin listener serves /metrics and /healthz over HTTPS', withLogs(async () => {
  const metrics = await httpsRequest(adminPort, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /slipway_/);
  const health = await httpsRequest(adminPort, '/healthz');
  assert.equal(health.status, 200);
}));

test('https:// backends: verified with the CA file; an expired certificate and a wrong host name are refused', withLogs(async () => {
  const ok = await httpsRequest(gw.port, '/v1/chat/completions', { method: 'POST', body: chat('ok', 'hi', { max_tokens: 3 }) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.object, 'chat.completion');

  const exp = await httpsRequest(gw.port, '/v1/chat/completions', { method: 'POST', body: chat('expired', 'hi', { max_tokens: 3 }) });
  assert.equal(exp.status, 502, exp.text);
  assert.ok(exp.json?.error?.message, `an OpenAI error body: ${exp.text}`);
  const expLog = await gw.proc.waitForEvent('tls_handshake_failed', { pred: (j) => j.side === 'upstream' && j.endpoint === `https://127.0.0.1:${expired.port}` });
  assert.equal(expLog.reason, 'certificate has expired');

  const wrong = await httpsRequest(gw.port, '/v1/chat/completions', { method: 'POST', body: chat('wrong-host', 'hi', { max_tokens: 3 }) });
  assert.equal(wrong.status, 502, wrong.text);
  assert.ok(wrong.json?.error?.message, `an OpenAI error body: ${wrong.text}`);
  const wrongLog = await gw.proc.waitForEvent('tls_handshake_failed', { pred: (j) => j.side === 'upstream' && j.endpoint === `https://localhost:${wrongHost.port}` });
  assert.equal(wrongLog.reason, 'hostname mismatch');
}));

test('upstream_tls.insecure_skip_verify: the wrong-name backend is reached, with a warning at load', withLogs(async () => {
  const insecure = await startGateway(toYaml({
    listen: { address: '127.0.0.1', port: 0 },
    threads: 1,
    health: { check_interval: '200ms' },
    upstream_tls: { insecure_skip_verify: true },
    models: [{ name: 'm', baseline: { served_model: sim.model, endpoints: [`https://localhost:${wrongHost.port}`] } }],
  }) + '\n');
  await insecure.proc.waitForEvent('upstream_tls_insecure');
  const r = await fetch(`${insecure.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat('m', 'hi', { max_tokens: 3 })),
  });
  assert.equal(r.status, 200, await r.text());
  await insecure.stop();
}));

test('reload: new certificate files are served to new connections; a bad certificate path is rejected naming the key', withLogs(async () => {
  assert.equal(await peerSerial(gw.port), '1001');
  // The operator puts the renewed certificate in place and sends SIGHUP.
  fs.copyFileSync(path.join(dir, 'gw-next.crt'), path.join(dir, 'gw.crt'));
  fs.copyFileSync(path.join(dir, 'gw-next.key'), path.join(dir, 'gw.key'));
  let mark = gw.proc.lines.length;
  gw.proc.child.kill('SIGHUP');
  await gw.waitForReload({ from: mark });
  assert.equal(await peerSerial(gw.port), '2002');
  const r = await httpsRequest(gw.port, '/v1/chat/completions', { method: 'POST', body: chat('ok', 'hi', { max_tokens: 3 }) });
  assert.equal(r.status, 200, r.text);

  const bad = gatewayConfig();
  bad.listen.tls.cert_file = path.join(dir, 'missing.crt');
  mark = gw.writeConfig(bad);
  const rejected = await gw.waitForReject({ from: mark });
  assert.ok(rejected.errors.some((e) => e.startsWith('listen.tls.cert_file: cannot read') && e.includes('missing.crt')),
    JSON.stringify(rejected.errors));
  assert.equal(await peerSerial(gw.port), '2002');  // the running certificate keeps serving
}));
