import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFront, type ApiFront } from '../../src/api/apiFront.ts';
import { createApi, type Api } from '../../src/api/app.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { claimTransaction, DEPOSIT_ID, DEPOSIT_MSAT, NOTE_MSAT, RECIPIENT, reissueTransaction } from './fixtures.ts';
import { ADMIN_TOKEN, startTestGuardian, type TestGuardian } from './testGuardian.ts';

/**
 * Issue 18 §2 over HTTP: GET /v1/audit, /v1/transactions/:txid and /v1/ledger with ?atSession=N
 * answer as the projections stood at the end of session N, say so, and never mix with the
 * answers of now (the API front keeps only the latter).
 */

const withoutAsOf = (body: Record<string, unknown>) => {
  const { asOf: _, ...rest } = body;
  return rest;
};

describe('as-of answers', () => {
  let api: ApiServer;
  let claimTxid: string;
  let reissueTxid: string;
  /** GET /v1/audit and /v1/ledger as answered right after each session completed. */
  const answeredThen: { audit: unknown; ledger: unknown }[] = [];

  const json = async (path: string) => {
    const response = await api.get(path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const sealAndRecord = async () => {
    await api.guardian.seal();
    answeredThen.push({ audit: (await json('/v1/audit')).body, ledger: (await json('/v1/ledger')).body });
  };

  beforeAll(async () => {
    api = await startApiServer();
    // Session 0 confirms a deposit, session 1 claims it into a note, session 2 reissues the note.
    expect((await api.post('/v1/admin/deposits', { depositId: DEPOSIT_ID, amount: DEPOSIT_MSAT.toString(), recipient: RECIPIENT }, { token: ADMIN_TOKEN })).status).toBe(202);
    await sealAndRecord();
    const claim = claimTransaction();
    claimTxid = claim.txid;
    expect((await api.post('/v1/transactions', { tx: claim.hex })).status).toBe(202);
    await sealAndRecord();
    const reissue = reissueTransaction(claimTxid, 1);
    reissueTxid = reissue.txid;
    expect((await api.post('/v1/transactions', { tx: reissue.hex })).status).toBe(202);
    await sealAndRecord();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers the balance sheet and the ledger of every completed session as they were answered then', async () => {
    for (const [session, then] of answeredThen.entries()) {
      expect(withoutAsOf((await json(`/v1/audit?atSession=${session}`)).body), `audit at ${session}`).toEqual(then.audit);
      expect(withoutAsOf((await json(`/v1/ledger?atSession=${session}`)).body), `ledger at ${session}`).toEqual(then.ledger);
    }
    // They differ from session to session, so the answers above were not all one answer.
    expect(new Set(answeredThen.map((then) => JSON.stringify(then.ledger))).size).toBe(3);
  });

  it('sums the ledger: deposits confirmed and claimed, unspent notes, withdrawals', async () => {
    const at0 = (await json('/v1/ledger?atSession=0')).body;
    expect(at0).toMatchObject({ deposits: { confirmed: { count: 1, msat: DEPOSIT_MSAT.toString() }, claimed: { count: 0, msat: '0' } }, notes: { unspent: 0, msat: '0' }, withdrawals: { msat: '0' } });
    const at1 = (await json('/v1/ledger?atSession=1')).body;
    expect(at1).toMatchObject({ deposits: { confirmed: { count: 1 }, claimed: { count: 1, msat: DEPOSIT_MSAT.toString() } }, notes: { unspent: 1, msat: NOTE_MSAT.toString() } });
    // The reissue spent the note into another: still one unspent.
    expect((await json('/v1/ledger?atSession=2')).body).toMatchObject({ notes: { unspent: 1 }, lastItem: { session: 2, index: 0 } });
  });

  it("answers a transaction's status as of a session: unknown before it, accepted from its session on", async () => {
    expect((await json(`/v1/transactions/${claimTxid}?atSession=0`)).body).toEqual({ txid: claimTxid, status: 'unknown', asOf: expect.objectContaining({ session: 0 }) });
    const accepted = (await json(`/v1/transactions/${claimTxid}?atSession=1`)).body;
    expect(accepted).toMatchObject({ txid: claimTxid, status: 'accepted', session: 1, index: 0, asOf: { session: 1 } });
    expect((await json(`/v1/transactions/${reissueTxid}?atSession=1`)).body).toMatchObject({ status: 'unknown' });
    expect((await json(`/v1/transactions/${reissueTxid}?atSession=2`)).body).toMatchObject({ status: 'accepted', session: 2 });
    // Without atSession: the guardian's answer, as before.
    expect((await json(`/v1/transactions/${reissueTxid}`)).body).toEqual({ txid: reissueTxid, status: 'accepted', session: 2, index: 0 });
  });

  it('says what each answer is as of and what it cost: no snapshot here, so a fold from position 0', async () => {
    type AsOf = { session: number; fromSnapshot?: unknown; folded: number };
    const at0 = (await json('/v1/audit?atSession=0')).body.asOf as AsOf;
    const at1 = (await json('/v1/audit?atSession=1')).body.asOf as AsOf;
    expect(at1.session).toBe(1);
    expect(at1.fromSnapshot).toBeUndefined();
    expect(at0.folded).toBeGreaterThan(0);
    expect(at1.folded).toBeGreaterThan(at0.folded);
    expect((await json('/v1/audit')).body.asOf).toBeUndefined();
  });

  it('documents atSession on the three routes in /openapi.json, and the ledger route', async () => {
    const doc = (await json('/openapi.json')).body as { paths: Record<string, { get?: { parameters: { name: string; in: string }[]; responses: Record<string, unknown> } }> };
    for (const path of ['/v1/audit', '/v1/transactions/{txid}', '/v1/ledger']) {
      const operation = doc.paths[path]?.get;
      expect(operation?.parameters.filter((p) => p.in === 'query').map((p) => p.name), path).toContain('atSession');
      expect(Object.keys(operation!.responses), path).toContain('404');
    }
  });

  it('answers 404 naming the newest completed session for a session not completed, and 400 for garbage', async () => {
    for (const path of ['/v1/audit?atSession=3', '/v1/ledger?atSession=3', `/v1/transactions/${claimTxid}?atSession=99`]) {
      const { status, body } = await json(path);
      expect(status, path).toBe(404);
      expect(body.reason, path).toMatch(/session \d+ is not complete: the newest completed session is 2/);
    }
    for (const bad of ['-1', '1.5', 'abc', '1e3', '', '01']) {
      for (const path of [`/v1/audit?atSession=${bad}`, `/v1/ledger?atSession=${bad}`, `/v1/transactions/${claimTxid}?atSession=${bad}`]) {
        const { status, body } = await json(path);
        expect(status, path).toBe(400);
        expect(body.error).toBe('invalid_request');
      }
    }
    expect(api.failures).toEqual([]);
  });
});

describe('as-of answers behind the API front', () => {
  let guardian: TestGuardian;
  let api: Api;
  let front: ApiFront;
  const reachedApp: string[] = [];

  beforeAll(async () => {
    guardian = await startTestGuardian();
    api = createApi(guardian, { adminToken: ADMIN_TOKEN, maxWaitMs: 2_000 });
    const app = api.app;
    front = await startApiFront(
      {
        ...api,
        app: (req, res) => {
          reachedApp.push(req.url ?? '');
          app(req, res);
        },
      },
      { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 5_000, changes: guardian.projections.changes$, onFailure: (error) => expect.fail(error.message) },
    );
    await guardian.observeDeposit({ depositId: 'aa'.repeat(32), amount: 5_000n, recipient: '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798' });
    await guardian.seal();
    await guardian.seal();
  });
  afterAll(async () => {
    await front?.close();
    await guardian?.stop();
  });

  const body = async (url: string) => (await (await fetch(front.url + url)).json()) as Record<string, unknown>;

  it('never answers /v1/audit with an as-of reply nor the reverse, and never keeps an as-of reply', async () => {
    const now = await body('/v1/audit');
    const appAnswered = (url: string) => reachedApp.filter((u) => u === url).length;
    // Asked until the front answers it from its kept copy (the request no longer reaches the app).
    for (let tries = 0; ; tries++) {
      const before = appAnswered('/v1/audit');
      await body('/v1/audit');
      if (appAnswered('/v1/audit') === before) break;
      if (tries > 50) expect.fail('the front never kept GET /v1/audit');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const kept = appAnswered('/v1/audit');
    const asOf0 = await body('/v1/audit?atSession=0');
    const asOf1 = await body('/v1/audit?atSession=1');
    expect(asOf0.asOf).toMatchObject({ session: 0 });
    expect(asOf1.asOf).toMatchObject({ session: 1 });
    expect(await body('/v1/audit')).toEqual(now);
    expect(await body('/v1/audit?atSession=0')).toEqual(asOf0);
    expect(await body('/v1/audit')).toEqual(now);
    expect(appAnswered('/v1/audit')).toBe(kept);
    // Every as-of request went to the app; the app offers the front no answer to keep for them.
    expect(reachedApp.filter((u) => u === '/v1/audit?atSession=0')).toHaveLength(2);
    expect(api.cachedAnswer('/v1/audit?atSession=0')).toBeUndefined();
    expect(api.cachedAnswer('/v1/audit')).toBeDefined();
  });
});
