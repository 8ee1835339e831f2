import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody } from '../../src/api/schemas.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';
import { ADMIN_TOKEN } from './testGuardian.ts';

/** Whatever a client sends, the answer is a status below 500 with a JSON `{ error, reason }` when it is an error. */
describe('arbitrary input', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer({ maxBodyBytes: 2048 });
    await seedHistory(api);
  });
  afterAll(async () => {
    await api.close();
  });

  const expectHandled = async (response: Response) => {
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) expect(errorBody.safeParse(await response.json()).success).toBe(true);
    else await response.arrayBuffer();
  };

  it('random JSON bodies on every POST endpoint never cause a 5xx', async () => {
    const paths = ['/v1/transactions', '/v1/admin/deposits', '/v1/admin/shutdown'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), async (path, payload) => {
        await expectHandled(await api.post(path, JSON.stringify(payload) ?? 'null', { token: ADMIN_TOKEN }));
      }),
      { seed: 4242, numRuns: 150 },
    );
  });

  it('random bytes as a body never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const response = await fetch(`${api.url}/v1/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
        await expectHandled(response);
      }),
      { seed: 4243, numRuns: 60 },
    );
  });

  it('random path segments and query values never cause a 5xx', async () => {
    const templates = ['/v1/transactions/%', '/v1/sessions/%/status', '/v1/sessions/%/signed?wait=1', '/v1/sessions/%/items', '/v1/sessions?from=%&limit=%', '/v1/audit/history?from=%&to=%', '/v1/sessions/0/items?offset=%'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...templates), fc.string({ maxLength: 40 }), async (template, value) => {
        await expectHandled(await api.get(template.replaceAll('%', encodeURIComponent(value))));
      }),
      { seed: 4244, numRuns: 200 },
    );
  });

  it('raw path segments, malformed percent-encoding included, never cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/transactions/', '/v1/sessions/', '/v1/'), fc.stringMatching(/^[%0-9a-fA-Z.~_-]{0,12}$/), async (prefix, raw) => {
        await expectHandled(await api.get(`${prefix}${raw}/status`));
      }),
      { seed: 4245, numRuns: 200 },
    );
    expect((await api.get('/v1/sessions/%zz/status')).status).toBe(400);
  });

  it('answers 500 with a JSON body, and tells onError, when the guardian itself fails', async () => {
    const federation = api.guardian.federation;
    api.guardian.federation = () => {
      throw new Error('boom');
    };
    try {
      const response = await api.get('/v1/federation');
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'internal', reason: 'the guardian failed to answer; see its log' });
      expect(api.failures).toHaveLength(1);
      expect(String(api.failures[0])).toContain('boom');
    } finally {
      api.guardian.federation = federation;
      api.failures.length = 0;
    }
    expect((await api.get('/v1/federation')).status).toBe(200);
  });

  afterAll(() => {
    expect(api.failures).toEqual([]);
  });
});
