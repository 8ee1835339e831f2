import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFront, type ApiFront } from '../../src/api/apiFront.ts';
import { createApi } from '../../src/api/app.ts';
import { ADMIN_TOKEN, startTestGuardian, type TestGuardian } from './testGuardian.ts';

/**
 * Issue 16, item 5: 300 POSTs dripping 2 bytes every 2 s were all still open after 95 s. The API
 * front closes a request whose headers or body do not arrive in time, and refuses connections from
 * one client address beyond a cap while other addresses are still served.
 */

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1_200;
const MAX_CONNECTIONS = 3;

interface Opened {
  socket: Socket;
  /** Everything the server sent. */
  received: () => string;
  /** Resolves, with ms since `connect`, when the server closed the connection. */
  closed: Promise<number>;
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let text = '';
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now() - started)));
    socket.once('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** Writes `chunk` every `everyMs` until the socket closes; stops after `maxMs`. */
function drip(socket: Socket, chunk: string, everyMs: number): () => void {
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(chunk);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
  return () => clearInterval(timer);
}

function getStatus(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/federation', localAddress, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'still open'> => Promise.race([promise, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms))]);

describe('the API front’s limits on slow and numerous connections', () => {
  let guardian: TestGuardian;
  let front: ApiFront;
  let port: number;

  beforeAll(async () => {
    guardian = await startTestGuardian();
    const api = createApi(guardian, { adminToken: ADMIN_TOKEN });
    front = await startApiFront(api, {
      host: '127.0.0.1',
      port: 0,
      keepAliveTimeoutMs: 30_000,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      maxConnectionsPerClient: MAX_CONNECTIONS,
      changes: guardian.projections.changes$,
      onFailure: (error) => expect.fail(error.message),
    });
    port = Number(new URL(front.url).port);
  });
  afterAll(async () => {
    await front.close();
    await guardian.stop();
  });

  it('closes a POST whose body drips in slower than the request timeout allows', async () => {
    const client = await open(port);
    client.socket.write('POST /v1/transactions HTTP/1.1\r\nHost: guardian\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"tx":"');
    const stop = drip(client.socket, '00', 150);
    const closedAfter = await within(client.closed, REQUEST_TIMEOUT_MS * 4);
    stop();
    client.socket.destroy();
    expect(closedAfter).not.toBe('still open');
    expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS * 0.9);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a request whose headers drip in slower than the headers timeout allows', async () => {
    const client = await open(port);
    client.socket.write('GET /v1/federation HTTP/1.1\r\nHost: guardian\r\n');
    const stop = drip(client.socket, 'X-Slow: 1\r\n', 100);
    const closedAfter = await within(client.closed, HEADERS_TIMEOUT_MS * 5);
    stop();
    client.socket.destroy();
    expect(closedAfter).not.toBe('still open');
  });

  it('refuses connections beyond the cap from one address, and still serves another address', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(port)));
    try {
      const extra = await open(port);
      const closedAfter = await within(extra.closed, 2_000);
      expect(closedAfter).not.toBe('still open');
      expect(extra.received()).toMatch(/^HTTP\/1\.1 503 /);
      // Another client address (any of 127.0.0.0/8 is this machine) is not held to the first one's cap.
      expect(await getStatus(port, '127.0.0.2')).toBe(200);
      // The held connections themselves are still served.
      held[0]!.socket.write('GET /v1/federation HTTP/1.1\r\nHost: guardian\r\n\r\n');
      await expect.poll(() => held[0]!.received(), { timeout: 2_000 }).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const h of held) h.socket.destroy();
    }
    await Promise.all(held.map((h) => h.closed));
    // Once they are gone the address is served again.
    await expect.poll(() => getStatus(port, '127.0.0.1'), { timeout: 2_000 }).toBe(200);
  });
});
