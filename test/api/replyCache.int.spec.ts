import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../src/api/schemas.ts';
import { createReplyCache } from '../../src/api/replyCache.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { claimTransaction, DEPOSIT_ID, DEPOSIT_MSAT, NOTE_MSAT, RECIPIENT } from './fixtures.ts';
import { ADMIN_TOKEN } from './testGuardian.ts';

describe('cached answers of the read endpoints', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  it('GET /v1/audit and GET /v1/sessions answer anew as soon as their projection moved', async () => {
    const audit = async () => s.auditResponse.parse(await (await api.get('/v1/audit')).json());
    const sessions = async () => s.sessionsResponse.parse(await (await api.get('/v1/sessions?from=0&limit=20')).json());
    expect((await audit()).netAssets).toBe('0');
    expect((await sessions()).sessions).toEqual([]);
    // Asked twice at the same position: the same answer (from the cache).
    expect((await audit()).netAssets).toBe('0');

    const deposit = await api.post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: DEPOSIT_MSAT.toString(), recipient: RECIPIENT }, { token: ADMIN_TOKEN });
    expect(deposit.status).toBe(202);
    await api.guardian.seal();
    const claim = await api.post('/v1/transactions', { tx: claimTransaction().hex });
    expect(claim.status).toBe(202);
    await api.guardian.seal();
    await api.guardian.projections.waitFor(api.guardian.projections.position('ledger'));

    expect((await audit()).netAssets).toBe((DEPOSIT_MSAT - NOTE_MSAT).toString());
    const page = await sessions();
    expect(page.sessions.map((x) => [x.session, x.itemCount])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(page).toMatchObject({ from: 0, limit: 20 });
  });
});

describe('createReplyCache', () => {
  it('computes once per version and key, and again after the version moved', () => {
    let version = 1n;
    let computed = 0;
    const cache = createReplyCache(() => version);
    const answer = (key: string) => cache.reply(key, () => ({ key, computed: ++computed }));
    expect(answer('a').body).toBe('{"key":"a","computed":1}');
    expect(answer('a').body).toBe('{"key":"a","computed":1}');
    expect(answer('b').body).toBe('{"key":"b","computed":2}');
    version = 2n;
    expect(answer('a').body).toBe('{"key":"a","computed":3}');
    expect(answer('a').headers).toEqual({ 'Content-Type': 'application/json; charset=utf-8' });
  });

  it('keeps a bounded number of keys, the least recently asked going first (query strings are the client’s choice)', () => {
    let computed = 0;
    const cache = createReplyCache(() => 0, { maxKeys: 4 });
    for (let i = 0; i < 100; i++) cache.reply(String(i), () => ++computed);
    expect(computed).toBe(100);
    cache.reply('99', () => ++computed);
    expect(computed).toBe(100);
    cache.reply('0', () => ++computed);
    expect(computed).toBe(101);
  });

  it('keeps a bounded number of bytes, and answers (without keeping) one larger than them all', () => {
    let computed = 0;
    const cache = createReplyCache(() => 0, { maxBytes: 1_000 });
    const big = () => ({ n: ++computed, pad: 'x'.repeat(400) });
    cache.reply('a', big);
    cache.reply('b', big);
    cache.reply('c', big);
    expect(computed).toBe(3);
    cache.reply('c', big);
    cache.reply('b', big);
    expect(computed).toBe(3);
    // 'a' was dropped to make room for 'c'.
    cache.reply('a', big);
    expect(computed).toBe(4);
    const huge = cache.reply('huge', () => ({ n: ++computed, pad: 'x'.repeat(5_000) }));
    expect(JSON.parse(huge.body as string)).toMatchObject({ n: 5 });
    cache.reply('huge', () => ({ n: ++computed }));
    expect(computed).toBe(6);
  });
});
