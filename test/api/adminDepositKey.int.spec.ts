import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody } from '../../src/api/schemas.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { DEPOSIT_ID, RECIPIENT } from './fixtures.ts';
import { ADMIN_TOKEN } from './testGuardian.ts';

/** Issue 16, item 7: a deposit for 32 bytes that are not a BIP-340 public key is refused at the door. */
describe('POST /v1/admin/deposits with a recipient that is not a public key', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  it.each([
    ['x = 5, not on the curve', '00'.repeat(31) + '05'],
    ['x = p', 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f'],
    ['zero', '00'.repeat(32)],
  ])('answers 400 with the reason (%s)', async (_, recipient) => {
    const response = await api.post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: '10000', recipient }, { token: ADMIN_TOKEN });
    expect(response.status).toBe(400);
    const body = errorBody.parse(await response.json());
    expect(body.reason).toContain(`recipient ${recipient} is not a valid BIP-340 public key`);
  });

  it('still queues the deposit for a real key', async () => {
    const response = await api.post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: '10000', recipient: RECIPIENT }, { token: ADMIN_TOKEN });
    expect(response.status).toBe(202);
  });
});
