import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApiApp, type ApiOptions } from '../../src/api/app.ts';
import { ADMIN_TOKEN, startTestGuardian, type TestGuardian } from './testGuardian.ts';

/** The real app on an ephemeral loopback port, over the test guardian. */
export interface ApiServer {
  url: string;
  guardian: TestGuardian;
  /** Unexpected failures the app answered with 500 (tests assert there are none). */
  failures: unknown[];
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: { token?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export async function startApiServer(options: Partial<ApiOptions> = {}): Promise<ApiServer> {
  const guardian = await startTestGuardian();
  const failures: unknown[] = [];
  const app = createApiApp(guardian, { adminToken: ADMIN_TOKEN, maxBodyBytes: 128 * 1024, maxWaitMs: 2_000, onError: (error) => failures.push(error), ...options });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    guardian,
    failures,
    get: (path, init) => fetch(url + path, init),
    post: (path, body, init = {}) =>
      fetch(url + path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...init.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await guardian.stop();
    },
  };
}
