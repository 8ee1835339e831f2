/**
 * The load client's HTTP: node:http with keep-alive rather than fetch, since a load client should
 * spend its CPU on load, and fetch's WHATWG layers cost several times more per small request.
 */
import { Agent, request } from 'node:http';

/** A guardian's answer that the load cannot go on from (5xx, 401, 404, 413). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly retryAfter?: number,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

/** A guardian's API and the token of its admin endpoints. */
export interface GuardianTarget {
  target: URL;
  adminToken: string;
}

export function guardianTarget(url: string, adminToken: string): GuardianTarget {
  return { target: new URL(url.replace(/\/+$/, '')), adminToken };
}

export interface LoadHttpClient {
  /** A JSON request to `at` (default: the load's own guardian), with the admin token when `admin`. */
  call(method: string, path: string, body?: unknown, admin?: boolean, at?: GuardianTarget): Promise<{ status: number; json: Record<string, unknown> }>;
  destroy(): void;
}

export function createLoadHttpClient(options: { url: string; adminToken: string; maxSockets: number }): LoadHttpClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const own = guardianTarget(options.url, options.adminToken);
  return {
    call: (method, path, body, admin = false, at = own) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string | number> = {};
        if (payload !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = Buffer.byteLength(payload);
        }
        if (admin) headers.authorization = `Bearer ${at.adminToken}`;
        const req = request({ agent, host: at.target.hostname, port: at.target.port, method, path: `${at.target.pathname.replace(/\/$/, '')}${path}`, headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status >= 500 || status === 401 || status === 404 || status === 413) {
              const retry = response.headers['retry-after'];
              reject(new HttpError(status, text, retry === undefined ? undefined : Number(retry)));
              return;
            }
            try {
              resolve({ status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        });
        req.on('error', reject);
        req.end(payload);
      }),
    destroy: () => agent.destroy(),
  };
}
