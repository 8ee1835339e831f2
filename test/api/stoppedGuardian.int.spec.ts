import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';

/** Requests that reach a guardian which already stopped (its log closed) while the server still answers. */
describe('a request to a stopped guardian', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
    await seedHistory(api);
    await api.guardian.stop();
  });
  afterAll(async () => {
    api.guardian.stop = () => Promise.resolve();
    await api.close();
  });

  it('gets 503 "stopping" from the routes that read the log, not a 500', async () => {
    for (const path of ['/v1/sessions/0/signed', '/v1/sessions/0/items']) {
      const response = await api.get(path);
      expect(response.status, path).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'stopping' });
    }
    expect(api.failures).toEqual([]);
  });
});
