import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startReplica, type Replica } from '../../src/replica/replica.ts';
import { startFakeGuardian, type FakeGuardian } from './fakeGuardian.ts';

/**
 * A replica is as exposed to analysts as a guardian is, so it serves them through the same API
 * front: a client that drips its headers is answered 408 and closed, and the kept answers of the
 * cached GETs follow the replica's own projections.
 */

const HEADERS_TIMEOUT_MS = 400;
let guardian: FakeGuardian;
let replica: Replica;
let dir: string;

beforeAll(async () => {
  guardian = await startFakeGuardian(23);
  guardian.sessions.push({ items: [] });
  dir = mkdtempSync(join(tmpdir(), 'fedlog-replica-limits-'));
  replica = await startReplica({ from: guardian.url, dataDir: dir, port: 0, pollWaitMs: 50, limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS }, logger: pino({ level: 'silent' }) });
  await vi.waitFor(() => expect(replica.status().sessions).toBe(1));
});

afterAll(async () => {
  await replica?.stop();
  await guardian?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a replica behind the API front', () => {
  it('answers 408 and closes a request whose headers drip in slower than its headers timeout', async () => {
    const port = Number(new URL(replica.url).port);
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    const started = performance.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
    socket.once('error', () => undefined);
    socket.write('GET /v1/sessions HTTP/1.1\r\nHost: replica\r\n');
    const timer = setInterval(() => !socket.destroyed && socket.write('X-Slow: 1\r\n'), 100);
    const after = await closed;
    clearInterval(timer);
    expect(after).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS * 0.9);
    expect(after).toBeLessThan(HEADERS_TIMEOUT_MS * 20);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps a cached answer current with the replica, not stale at the first session', async () => {
    const sessions = async () => ((await (await fetch(`${replica.url}/v1/sessions`)).json()) as { sessions: unknown[] }).sessions.length;
    expect(await sessions()).toBe(1);
    guardian.sessions.push({ items: [] });
    await vi.waitFor(() => expect(replica.status().sessions).toBe(2));
    await vi.waitFor(async () => expect(await sessions()).toBe(2));
  });
});
