import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFront, type ApiFront } from '../../src/api/apiFront.ts';
import { createApi, type Api } from '../../src/api/app.ts';
import * as s from '../../src/api/schemas.ts';
import { ADMIN_TOKEN, startTestGuardian, type TestGuardian } from './testGuardian.ts';

/**
 * Issue 16, item 4: the API front keeps answers of the cached GETs, but a kept answer is computed
 * again only when it is asked for, not after every projection fold: 64 distinct pages of 1,000
 * sessions, each asked now and then, multiplied the guardian's CPU when every fold recomputed them.
 */

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The front's default: computations after folds that one serving of a kept answer pays for. */
const RECOMPUTES_PER_ASK = 1;

describe('kept replies of the API front', () => {
  let guardian: TestGuardian;
  let api: Api;
  let front: ApiFront;
  /** Every URL the app answered itself (passed through by the front). */
  const reachedApp: string[] = [];
  /** Every URL whose kept answer the main thread computed for the front. */
  const computed: string[] = [];

  beforeAll(async () => {
    guardian = await startTestGuardian();
    api = createApi(guardian, { adminToken: ADMIN_TOKEN, maxWaitMs: 2_000 });
    const app = api.app;
    front = await startApiFront(
      {
        ...api,
        cachedAnswer: (url) => {
          computed.push(url);
          return api.cachedAnswer(url);
        },
        app: (req, res) => {
          reachedApp.push(req.url ?? '');
          app(req, res);
        },
      },
      { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 5_000, changes: guardian.projections.changes$, onFailure: (error) => expect.fail(error.message) },
    );
    for (let i = 0; i < 3; i++) await guardian.seal();
  });
  afterAll(async () => {
    await front.close();
    await guardian.stop();
  });

  const get = (url: string) => fetch(front.url + url);
  /** GETs `url` until the front answers it from its kept copy. */
  const keptOnFront = (url: string) =>
    eventually(async () => {
      const before = reachedApp.length;
      expect((await get(url)).status).toBe(200);
      return reachedApp.length === before;
    });
  const count = (list: string[], urls: readonly string[]) => list.filter((url) => urls.includes(url)).length;

  it('does not recompute kept answers that nobody asks for again, however many folds pass', async () => {
    const pages = Array.from({ length: 32 }, (_, k) => `/v1/sessions?from=${k}&limit=1000`);
    for (const url of pages) await keptOnFront(url);
    computed.length = 0;
    const folds = 20;
    for (let i = 0; i < folds; i++) await guardian.seal();
    await pause(100);
    // At most RECOMPUTES_PER_ASK times each (for the last ask before the folds), not once per fold.
    expect(count(computed, pages)).toBeLessThanOrEqual(RECOMPUTES_PER_ASK * pages.length);
  });

  it('answers a page asked again after the folds with the current sessions', async () => {
    const url = '/v1/sessions?from=0&limit=1000';
    const page = s.sessionsResponse.parse(await (await get(url)).json());
    expect(page.sessions).toHaveLength(guardian.currentSession());
    await keptOnFront(url);
    expect(await (await get(url)).text()).toBe(api.cachedAnswer(url)!.body);
  });

  it('keeps a page of sessions that are all complete across folds without computing it again (it cannot change)', async () => {
    const url = '/v1/sessions?from=1&limit=2';
    await keptOnFront(url);
    computed.length = 0;
    const reached = count(reachedApp, [url]);
    const before = await (await get(url)).text();
    for (let i = 0; i < 5; i++) await guardian.seal();
    await pause(100);
    expect(await (await get(url)).text()).toBe(before);
    expect(count(computed, [url])).toBe(0);
    expect(count(reachedApp, [url])).toBe(reached);
  });

  it('keeps a page that is asked for between folds current on the front, without asking the app', async () => {
    const url = '/v1/sessions?from=1&limit=1000';
    await keptOnFront(url);
    const reached = count(reachedApp, [url]);
    const rounds = 5;
    for (let i = 0; i < rounds; i++) {
      await guardian.seal();
      await pause(50);
      // The front refreshes its copy a fold after the app; on a busy machine that can take longer than the pause.
      await eventually(async () => s.sessionsResponse.parse(await (await get(url)).json()).sessions.at(-1)?.session === guardian.currentSession() - 1);
      await pause(50);
    }
    // A page forgotten at every fold would reach the app every round.
    expect(count(reachedApp, [url])).toBe(reached);
  });
});
