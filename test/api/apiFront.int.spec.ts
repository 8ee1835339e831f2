import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFront, type ApiFront } from '../../src/api/apiFront.ts';
import { createApi, type Api } from '../../src/api/app.ts';
import * as s from '../../src/api/schemas.ts';
import { claimTransaction, DEPOSIT_ID, DEPOSIT_MSAT, NOTE_MSAT, RECIPIENT } from './fixtures.ts';
import { ADMIN_TOKEN, startTestGuardian, type TestGuardian } from './testGuardian.ts';

/** Polls `check` until it holds (the front's kept answers and metrics travel between threads). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the API front thread', () => {
  let guardian: TestGuardian;
  let api: Api;
  let front: ApiFront;
  const failures: unknown[] = [];
  const frontFailures: Error[] = [];
  /** Every URL the app itself answered (passed through by the front). */
  const reachedApp: string[] = [];

  beforeAll(async () => {
    guardian = await startTestGuardian();
    api = createApi(guardian, { adminToken: ADMIN_TOKEN, maxWaitMs: 2_000, onError: (error) => failures.push(error) });
    const app = api.app;
    front = await startApiFront(
      {
        ...api,
        app: (req, res) => {
          reachedApp.push(`${req.method} ${req.url}`);
          app(req, res);
        },
      },
      { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 5_000, changes: guardian.projections.changes$, onFailure: (error) => frontFailures.push(error) },
    );
  });
  afterAll(async () => {
    await front.close();
    await guardian.stop();
    expect(failures).toEqual([]);
    expect(frontFailures).toEqual([]);
  });

  const get = (path: string, init?: RequestInit) => fetch(front.url + path, init);
  const post = (path: string, body: unknown, token?: string) =>
    fetch(front.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });

  it('answers a cached GET from its kept copy after the first, with the app’s body and content type', async () => {
    const first = await get('/v1/audit');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await first.text();
    expect(s.auditResponse.parse(JSON.parse(body)).netAssets).toBe('0');
    // The kept copy arrives from the main thread shortly after the first pass-through.
    await eventually(async () => {
      const before = reachedApp.length;
      const again = await get('/v1/audit');
      expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await again.text()).toBe(body);
      return reachedApp.length === before;
    });
    const before = reachedApp.length;
    for (let i = 0; i < 5; i++) expect(await (await get('/v1/audit')).text()).toBe(body);
    expect(reachedApp.length).toBe(before);
  });

  it('follows the projections: once a position is folded, the kept answers reflect it', async () => {
    const sessions = async () => s.sessionsResponse.parse(await (await get('/v1/sessions?from=0&limit=20')).json());
    expect((await sessions()).sessions).toEqual([]);
    await eventually(async () => {
      const before = reachedApp.length;
      await sessions();
      return reachedApp.length === before;
    });

    const deposit = await post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: DEPOSIT_MSAT.toString(), recipient: RECIPIENT }, ADMIN_TOKEN);
    expect(deposit.status).toBe(202);
    await guardian.seal();
    const claim = await post('/v1/transactions', { tx: claimTransaction().hex });
    expect(claim.status).toBe(202);
    await guardian.seal();
    await guardian.projections.waitFor(guardian.projections.position('ledger'));

    const cachedBefore = reachedApp.length;
    expect((await sessions()).sessions.map((x) => [x.session, x.itemCount])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(s.auditResponse.parse(await (await get('/v1/audit')).json()).netAssets).toBe((DEPOSIT_MSAT - NOTE_MSAT).toString());
    // Not asked between the folds, so not computed at each of them: each is asked of the app once, then kept again.
    expect(reachedApp.length).toBeLessThanOrEqual(cachedBefore + 2);
    await eventually(async () => {
      const before = reachedApp.length;
      await sessions();
      return reachedApp.length === before;
    });
  });

  it('passes every other request through unchanged: statuses, errors, bodies, headers', async () => {
    const invalid = await get('/v1/sessions?from=0&limit=abc');
    expect(invalid.status).toBe(400);
    expect((await invalid.json()) as unknown).toMatchObject({ error: expect.any(String) });
    expect((await get('/v1/audit/')).status).toBe(404);
    expect((await get('/V1/audit')).status).toBe(404);
    const unauthorised = await post('/v1/admin/shutdown', { afterSession: 5 });
    expect(unauthorised.status).toBe(401);
    const malformed = await fetch(front.url + '/v1/transactions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tx":' });
    expect(malformed.status).toBe(400);
    const federation = await get('/v1/federation');
    expect(federation.status).toBe(200);
    expect(s.federationResponse.parse(await federation.json()).peers).toHaveLength(1);
    // A GET with a body is the app's to answer, even of a kept URL: here its JSON parser refuses the body.
    const withBody = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(front.url + '/v1/audit', { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '5' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"x":');
    });
    expect(withBody).toBe(400);
    // An invalid query is never kept: each one reaches the app.
    const before = reachedApp.length;
    expect((await get('/v1/sessions?from=0&limit=abc')).status).toBe(400);
    expect(reachedApp.length).toBe(before + 1);
  });

  it('keeps answers only for the cached routes, however many other URLs were asked', async () => {
    for (let start = 0; start < 1100; start += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => get(`/v1/transactions/${(start + i).toString(16).padStart(64, '0')}`).then((r) => r.arrayBuffer())));
    }
    const url = '/v1/sessions?from=0&limit=7';
    expect((await get(url)).status).toBe(200);
    await eventually(async () => {
      const before = reachedApp.length;
      await (await get(url)).arrayBuffer();
      return reachedApp.length === before;
    });
  });

  it('keeps only what the app would answer 200 to the same URL, matched as the app matches it', async () => {
    for (const url of ['/v1/audit/', '/V1/audit', '/v1/sessions?limit=abc', '/v1/sessions?from=-1', '/v1/sessions/count', '/v1/federation']) {
      expect(api.cachedAnswer(url), url).toBeUndefined();
    }
    for (const url of ['/v1/audit', '/v1/audit?unused=1', '/v1/sessions', '/v1/sessions?from=1&limit=5000', '/v1/sessions?limit=2&limit=3']) {
      const fromApp = await fetch(front.url + url, { headers: { 'cache-control': 'no-cache' } });
      const kept = api.cachedAnswer(url);
      if (fromApp.status !== 200) expect(kept, url).toBeUndefined();
      else expect(kept?.body, url).toBe(await fromApp.text());
    }
  });

  it('cancels a long-poll on the main thread when its client goes away', async () => {
    const observers = guardian.sessionCompletedObservers();
    const controller = new AbortController();
    const poll = get('/v1/sessions/99/signed?wait=2000', { signal: controller.signal }).catch((error: unknown) => error);
    await eventually(async () => guardian.sessionCompletedObservers() === observers + 1);
    controller.abort();
    expect(await poll).toBeInstanceOf(Error);
    // Released well before its 2 s wait ran out.
    await eventually(async () => guardian.sessionCompletedObservers() === observers, 1_000);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('fedlog_http_requests_total{method="GET",route="/v1/sessions/:i/signed",status="499"} 1');
  });

  it('counts the answers it served in the guardian’s HTTP metrics, by route template', async () => {
    const count = async () => {
      const text = await (await get('/metrics')).text();
      const line = text.split('\n').find((l) => l.startsWith('fedlog_http_requests_total{method="GET",route="/v1/audit",status="200"}'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await count();
    for (let i = 0; i < 3; i++) await get('/v1/audit');
    // Reported once a second by the front thread.
    await eventually(async () => (await count()) >= before + 3);
  });

  it('refuses to start on a port in use', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      await expect(startApiFront(api, { host: '127.0.0.1', port, keepAliveTimeoutMs: 1_000, changes: guardian.projections.changes$, onFailure: () => undefined })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('runs at the priority it is given, that thread alone, and refuses a value that is not a nice value', async () => {
    /** The nice value of each thread of this process, from /proc/self/task/<tid>/stat (field 19). */
    const niceByThread = () =>
      new Map(
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return [tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])] as const;
        }),
      );
    const before = niceByThread();
    const niced = await startApiFront(api, { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 1_000, changes: guardian.projections.changes$, onFailure: () => undefined, priority: 7 });
    try {
      expect(niced.priority).toEqual({ applied: true });
      // Raising a nice value needs no privilege: exactly one new thread runs at 7, the others keep theirs.
      const after = niceByThread();
      expect([...after].filter(([tid, nice]) => !before.has(tid) && nice === 7)).toHaveLength(1);
      for (const [tid, nice] of before) if (after.has(tid)) expect(after.get(tid)).toBe(nice);
      expect((await fetch(niced.url + '/v1/audit')).status).toBe(200);
    } finally {
      await niced.close();
    }
    expect(front.priority).toBeUndefined();
    await expect(startApiFront(api, { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 1_000, changes: guardian.projections.changes$, onFailure: () => undefined, priority: 40 })).rejects.toThrow(/integer from -20 to 19/);
  });
});
