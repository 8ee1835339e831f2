import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody } from '../../src/api/schemas.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';

/** Issue 16, item 6: a query the schema does not describe exactly is a 400, never a silent default. */
describe('query validation', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
    await seedHistory(api);
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  const refused = async (path: string): Promise<string> => {
    const response = await api.get(path);
    expect(response.status, path).toBe(400);
    const body = errorBody.parse(await response.json());
    expect(body.error).toBe('invalid_request');
    return body.reason;
  };

  it.each(['/v1/sessions?limit=0', '/v1/sessions/0/items?limit=0'])('refuses a page of zero (%s) instead of answering one item', async (path) => {
    expect(await refused(path)).toMatch(/query\.limit: .*at least 1/);
  });

  it.each(['/v1/sessions?from[]=1', '/v1/sessions?from[0]=1', '/v1/sessions?limit[x]=5', '/v1/audit/history?to[]=3', '/v1/sessions/0/items?offset[]=1', '/v1/transactions/' + '00'.repeat(32) + '?wait[]=5'])(
    'refuses an array or object query value (%s) instead of ignoring it',
    async (path) => {
      expect(await refused(path)).toMatch(/^query: /);
    },
  );

  it('refuses a repeated query key', async () => {
    expect(await refused('/v1/sessions?from=1&from=2')).toMatch(/query\.from/);
  });

  it('still answers well-formed pages', async () => {
    const response = await api.get('/v1/sessions?from=0&limit=1');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ from: 0, limit: 1 });
  });
});
