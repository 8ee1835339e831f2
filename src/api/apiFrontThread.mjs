// @ts-check
/**
 * The API front thread (see apiFront.ts): it owns the guardian's public HTTP socket. A GET whose
 * answer the main thread keeps here (the cached read endpoints, refreshed by the main thread each
 * time their projection moves) is answered on this thread; every other request is passed through,
 * bytes unchanged, to the express app listening on the main thread's loopback port. Under load the
 * main thread is busy nearly all the time (session loop, submissions, projection folds, its GC), so
 * a query waiting for it waited tens of milliseconds; this thread is idle but for these answers.
 * Plain JavaScript because Node 20 workers cannot load .ts.
 *
 * workerData: `{ host, port, upstreamPort, keepAliveTimeoutMs, headersTimeoutMs, requestTimeoutMs, maxConnectionsPerClient, cachedPaths, priority? }`.
 * Messages in: `{ type: 'answer', url, body, headers }` (serve `body` for GET `url` from now on),
 * `{ type: 'rearm', url }` (the kept answer was found current again: report the next serving of it),
 * `{ type: 'forget', url }`, `{ type: 'closeIdle' }`, `{ type: 'close' }`.
 * Messages out: `{ type: 'listening', address, family, port, priority }` (priority: `{ applied: true }` or
 * `{ applied: false, reason }`; absent when none was asked) or `{ type: 'listenError', message, code }`,
 * `{ type: 'want', url }` (a GET of `url` was passed through: the main thread may start keeping its answer),
 * `{ type: 'asked', url }` (the kept answer of `url` was served, once per answer or rearm: the main
 * thread computes again, after a fold, only the answers that were asked for),
 * `{ type: 'served', urls, seconds }` (answered here since the last report, for the HTTP metrics), `{ type: 'closed' }`.
 */
import { Buffer } from 'node:buffer';
import { Agent, createServer, request } from 'node:http';
import { hrtime } from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
// Loaded from dist/ (compiledWorker.ts), where threadPriority.ts is compiled to .js.
import { setThreadPriority } from '../runtime/threads/threadPriority.js';

if (!parentPort) throw new Error('apiFrontThread.mjs must run as a worker thread');
const port = parentPort;
/** @type {{ host: string, port: number, upstreamPort: number, keepAliveTimeoutMs: number, headersTimeoutMs: number, requestTimeoutMs: number, maxConnectionsPerClient: number, cachedPaths: string[], priority?: number }} */
const options = workerData;

// On busy cores a woken thread can wait tens of milliseconds for one: measured under the guardian
// bench, the front's late wake-ups were run-queue waits, not work or GC. So it may run ahead.
const priority = options.priority === undefined ? undefined : setThreadPriority(options.priority);

/** @type {Map<string, { body: Buffer, headers: Record<string, string | number>, reported: boolean }>} */
const answers = new Map();
/** Paths of the routes whose answers may be kept here. */
const cachedPaths = new Set(options.cachedPaths);
/** URLs asked of the main thread once already (each is reported once until it is forgotten). */
const wanted = new Set();
/** @type {string[]} */
let servedUrls = [];
/** @type {number[]} */
let servedSeconds = [];

// Hop-by-hop headers describe one connection, not the message: each side of the pass-through sets its own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
/** @param {import('node:http').IncomingHttpHeaders} headers */
function endToEnd(headers) {
  /** @type {import('node:http').OutgoingHttpHeaders} */
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const upstream = new Agent({ keepAlive: true, keepAliveMsecs: 1_000 });

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
function passThrough(req, res) {
  const forwarded = request({ host: '127.0.0.1', port: options.upstreamPort, method: req.method, path: req.url, headers: endToEnd(req.headers), agent: upstream });
  forwarded.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  forwarded.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: 'unavailable', reason: 'the guardian did not answer' }));
    } else res.destroy();
  });
  // A client that goes away cancels its request on the main thread too (a long-poll stops waiting for nobody).
  res.on('close', () => {
    if (!res.writableFinished) forwarded.destroy();
  });
  req.pipe(forwarded);
}

// Slow requests (issue 16: 300 POSTs dripping 2 bytes every 2 s were all open after 95 s) are
// answered 408 and closed; node checks them every connectionsCheckingInterval, so a fraction of the
// shorter timeout keeps a deadline within about a quarter of itself.
const server = createServer({
  headersTimeout: options.headersTimeoutMs,
  requestTimeout: options.requestTimeoutMs,
  connectionsCheckingInterval: Math.max(100, Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 4),
}, (req, res) => {
  const started = hrtime.bigint();
  const url = req.url ?? '/';
  // A GET with a body is the app's to judge (its JSON parser may refuse the body).
  if (req.method === 'GET' && req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0') {
    const answer = answers.get(url);
    if (answer !== undefined) {
      res.writeHead(200, answer.headers);
      res.end(answer.body);
      if (!answer.reported) {
        answer.reported = true;
        port.postMessage({ type: 'asked', url });
      }
      servedUrls.push(url);
      servedSeconds.push(Number(hrtime.bigint() - started) / 1e9);
      return;
    }
    const mark = url.indexOf('?');
    if (!wanted.has(url) && cachedPaths.has(mark < 0 ? url : url.slice(0, mark))) {
      // Query strings are the client's choice: a bounded set (asking again is harmless).
      if (wanted.size >= 1024) wanted.clear();
      wanted.add(url);
      port.postMessage({ type: 'want', url });
    }
  }
  passThrough(req, res);
});
server.keepAliveTimeout = options.keepAliveTimeoutMs;

/** Open connections per client address: one address may not take every socket the process has. */
const openByAddress = new Map();
const TOO_MANY = JSON.stringify({ error: 'too_many_connections', reason: `at most ${options.maxConnectionsPerClient} open connections per client address` });
server.on('connection', (/** @type {import('node:net').Socket} */ socket) => {
  const address = socket.remoteAddress ?? '';
  const open = openByAddress.get(address) ?? 0;
  if (open >= options.maxConnectionsPerClient) {
    socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(TOO_MANY)}\r\n\r\n${TOO_MANY}`);
    socket.destroySoon();
    return;
  }
  openByAddress.set(address, open + 1);
  socket.once('close', () => {
    const left = (openByAddress.get(address) ?? 1) - 1;
    if (left === 0) openByAddress.delete(address);
    else openByAddress.set(address, left);
  });
});

// The main thread records these in its HTTP metrics; one message a second, not one per request.
const report = setInterval(() => {
  if (servedUrls.length === 0) return;
  port.postMessage({ type: 'served', urls: servedUrls, seconds: servedSeconds });
  servedUrls = [];
  servedSeconds = [];
}, 1_000);
report.unref();

server.once('error', (/** @type {NodeJS.ErrnoException} */ error) => port.postMessage({ type: 'listenError', message: error.message, code: error.code }));
server.listen(options.port, options.host, () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  port.postMessage({ type: 'listening', address: address.address, family: address.family, port: address.port, ...(priority === undefined ? {} : { priority }) });
});

port.on('message', (/** @type {{ type: 'answer', url: string, body: string, headers: Record<string, string> } | { type: 'rearm', url: string } | { type: 'forget', url: string } | { type: 'closeIdle' } | { type: 'close' }} */ message) => {
  switch (message.type) {
    case 'answer': {
      const body = Buffer.from(message.body);
      answers.set(message.url, { body, headers: { ...message.headers, 'Content-Length': body.length }, reported: false });
      break;
    }
    case 'rearm': {
      const answer = answers.get(message.url);
      if (answer !== undefined) answer.reported = false;
      break;
    }
    case 'forget':
      answers.delete(message.url);
      wanted.delete(message.url);
      break;
    case 'closeIdle':
      server.closeIdleConnections();
      break;
    case 'close':
      clearInterval(report);
      if (servedUrls.length > 0) port.postMessage({ type: 'served', urls: servedUrls, seconds: servedSeconds });
      server.close(() => {
        upstream.destroy();
        port.postMessage({ type: 'closed' });
        port.close();
      });
      server.closeAllConnections();
      break;
  }
});
