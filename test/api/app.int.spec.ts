import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as s from '../../src/api/schemas.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { signedSessionOutcomeFromJson, verifySignedSessionOutcome } from '../../src/domain/sessionOutcome.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { claimTransaction, DEPOSIT_ID, NOTE_MSAT, OWNER, RECIPIENT, reissueTransaction, seedHistory } from './fixtures.ts';
import { ADMIN_TOKEN } from './testGuardian.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

/** Parses `response` as JSON with `schema`: every answer must match what /openapi.json promises. */
async function body<S extends z.ZodType>(response: Response, schema: S): Promise<z.output<S>> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return schema.parse(await response.json());
}

describe('the guardian API over a seeded history', () => {
  let api: ApiServer;
  let claimTxid: string;

  beforeAll(async () => {
    api = await startApiServer();
    ({ claimTxid } = await seedHistory(api));
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  it('GET /v1/federation lists the one guardian, its threshold and the consensus hash', async () => {
    const federation = await body(await api.get('/v1/federation'), s.federationResponse);
    expect(federation.peers).toHaveLength(1);
    expect(federation.peers[0]!.id).toBe(0);
    expect(federation.threshold).toBe(1);
    expect(federation.consensusHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('GET /v1/sessions/count counts completed sessions', async () => {
    expect(await body(await api.get('/v1/sessions/count'), s.countResponse)).toEqual({ count: 2 });
  });

  it('GET /v1/sessions pages completed sessions and caps the limit', async () => {
    const page = await body(await api.get('/v1/sessions?from=1&limit=10'), s.sessionsResponse);
    expect(page.sessions.map((x) => [x.session, x.itemCount])).toEqual([[1, 1]]);
    expect(page.sessions[0]!.header).toMatch(/^0000000000000001[0-9a-f]{64}$/);
    expect(page.sessions[0]!.completedAt).toBeDefined();
    const all = await body(await api.get('/v1/sessions'), s.sessionsResponse);
    expect(all.sessions.map((x) => x.session)).toEqual([0, 1]);
    expect(all.limit).toBe(100);
    const capped = await body(await api.get('/v1/sessions?limit=999999'), s.sessionsResponse);
    expect(capped.limit).toBe(1000);
  });

  it('GET /v1/sessions/:i/status tells complete, pending and initial apart', async () => {
    const complete = await body(await api.get('/v1/sessions/1/status'), s.sessionStatusResponse);
    expect(complete).toMatchObject({ session: 1, status: 'complete', itemCount: 1 });
    const pending = await body(await api.get('/v1/sessions/2/status'), s.sessionStatusResponse);
    expect(pending).toMatchObject({ session: 2, status: 'pending', items: [] });
    const initial = await body(await api.get('/v1/sessions/7/status'), s.sessionStatusResponse);
    expect(initial).toEqual({ session: 7, status: 'initial' });
  });

  it('GET /v1/sessions/:i/signed serves an outcome whose signatures verify against its header', async () => {
    const signed = await body(await api.get('/v1/sessions/1/signed'), s.signedSessionResponse);
    expect(signed.items).toHaveLength(1);
    const decoded = signedSessionOutcomeFromJson(signed, defaultModuleCodecs);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const federation = await body(await api.get('/v1/federation'), s.federationResponse);
    const keys = new Map(federation.peers.map((p) => [p.id, hexToBytes(p.pubkey)]));
    expect(verifySignedSessionOutcome(keys, 1, decoded.value)).toBe(true);
    expect(verifySignedSessionOutcome(keys, 0, decoded.value)).toBe(false);
  });

  it('GET /v1/sessions/:i/signed is 404 for a session that is not complete', async () => {
    const response = await api.get('/v1/sessions/2/signed');
    expect(response.status).toBe(404);
    expect(await body(response, s.errorBody)).toMatchObject({ error: 'not_found' });
  });

  it('GET /v1/sessions/:i/items decodes transactions and module items for analysts', async () => {
    const deposits = await body(await api.get('/v1/sessions/0/items'), s.itemsResponse);
    expect(deposits.items).toHaveLength(1);
    expect(deposits.items[0]).toMatchObject({
      index: 0,
      peer: 0,
      kind: 'module',
      moduleItem: { module: 0, moduleName: 'wallet', kind: 'DepositObserved', value: { depositId: DEPOSIT_ID, amount: '10000', recipient: RECIPIENT } },
    });
    const claims = await body(await api.get('/v1/sessions/1/items?offset=0&limit=5'), s.itemsResponse);
    const tx = claims.items[0]!.transaction!;
    expect(tx.txid).toBe(claimTxid);
    expect(tx.inputs).toEqual([expect.objectContaining({ moduleName: 'wallet', kind: 'ClaimDeposit', value: { depositId: DEPOSIT_ID } })]);
    expect(tx.outputs).toEqual([expect.objectContaining({ moduleName: 'mint', kind: 'IssueNote', value: { amount: NOTE_MSAT.toString(), owner: bytesToHex(OWNER) } })]);
    const beyond = await body(await api.get('/v1/sessions/1/items?offset=1'), s.itemsResponse);
    expect(beyond.items).toEqual([]);
    expect((await api.get('/v1/sessions/9/items')).status).toBe(404);
  });

  it('GET /v1/audit shows the balance sheet with msat as decimal strings', async () => {
    const audit = await body(await api.get('/v1/audit'), s.auditResponse);
    expect(audit.netAssets).toBe('1000');
    expect(audit.modules).toEqual([
      { module: 0, moduleName: 'wallet', name: 'reserves', msat: '10000' },
      { module: 1, moduleName: 'mint', name: 'outstanding notes', msat: '-9000' },
    ]);
  });

  it('GET /v1/audit/history gives one sheet per completed session, within from..to', async () => {
    const all = await body(await api.get('/v1/audit/history'), s.auditHistoryResponse);
    expect(all.sheets.map((x) => [x.session, x.netAssets])).toEqual([
      [0, '0'],
      [1, '1000'],
    ]);
    const one = await body(await api.get('/v1/audit/history?from=1&to=1'), s.auditHistoryResponse);
    expect(one.sheets.map((x) => x.session)).toEqual([1]);
  });

  it('GET /v1/peers reports this guardian and what it contributed', async () => {
    const { peers } = await body(await api.get('/v1/peers'), s.peersResponse);
    expect(peers).toEqual([{ id: 0, connection: 'self', lastContributedSession: 1, lastSignedSession: 1, items: 2 }]);
  });

  it('GET /v1/projections reports every projection caught up', async () => {
    const { projections } = await body(await api.get('/v1/projections'), s.projectionsResponse);
    expect(projections.map((p) => p.name)).toEqual(expect.arrayContaining(['sessions', 'audit', 'transactions', 'peers', 'pendingItems', 'ledger']));
    for (const p of projections) expect(p.lag).toBe(0);
  });

  it('GET /v1/transactions/:txid answers accepted, and unknown for a txid never seen', async () => {
    expect(await body(await api.get(`/v1/transactions/${claimTxid}`), s.txStatusResponse)).toEqual({ txid: claimTxid, status: 'accepted', session: 1, index: 0 });
    // Upper-case hex names the same transaction.
    expect((await body(await api.get(`/v1/transactions/${claimTxid.toUpperCase()}`), s.txStatusResponse)).status).toBe('accepted');
    const unknown = 'ab'.repeat(32);
    expect(await body(await api.get(`/v1/transactions/${unknown}`), s.txStatusResponse)).toEqual({ txid: unknown, status: 'unknown' });
  });

  it('POST /v1/transactions answers 200 for a transaction already accepted', async () => {
    const response = await api.post('/v1/transactions', { tx: claimTransaction().hex });
    expect(response.status).toBe(200);
    expect(await body(response, s.txidResponse)).toEqual({ txid: claimTxid });
  });

  it('POST /v1/transactions answers 400 with the ledger reason for a transaction that cannot be accepted', async () => {
    const spendTwice = reissueTransaction('cd'.repeat(32), 50);
    const response = await api.post('/v1/transactions', { tx: spendTwice.hex });
    expect(response.status).toBe(400);
    expect(await body(response, s.errorBody)).toEqual({ error: 'invalid_transaction', reason: 'input 0: note unknown or already spent' });
  });

  it('POST /v1/transactions answers 503 with Retry-After when the queue is full', async () => {
    api.guardian.queueFull = true;
    try {
      const response = await api.post('/v1/transactions', { tx: reissueTransaction(claimTxid, 60).hex });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(await body(response, s.errorBody)).toMatchObject({ error: 'queue_full' });
    } finally {
      api.guardian.queueFull = false;
    }
  });

  it('POST /v1/admin/shutdown schedules a shutdown with the admin token', async () => {
    const response = await api.post('/v1/admin/shutdown', { afterSession: 4 }, { token: ADMIN_TOKEN });
    expect(response.status).toBe(202);
    expect(await body(response, s.shutdownResponse)).toEqual({ afterSession: 4 });
    expect(api.guardian.shutdownAfter).toBe(4);
  });

  it('GET / serves the dashboard page', async () => {
    const response = await api.get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('id="net-assets"');
  });
});

describe('bad input', () => {
  let api: ApiServer;
  const txid = 'ab'.repeat(32);

  beforeAll(async () => {
    api = await startApiServer({ maxBodyBytes: 4096 });
    await seedHistory(api);
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  type Case = [name: string, request: () => Promise<Response>, status: number, reason: RegExp];
  const get = (path: string) => () => api.get(path);
  const post = (path: string, payload: unknown, token?: string) => () => api.post(path, payload, token === undefined ? {} : { token });
  const admin = (path: string, payload: unknown) => post(path, payload, ADMIN_TOKEN);
  const deposit = { depositId: 'ef'.repeat(32), amount: '5000', recipient: RECIPIENT };

  const cases: Case[] = [
    ['tx: malformed JSON', post('/v1/transactions', '{"tx": '), 400, /JSON/],
    ['tx: a JSON array', post('/v1/transactions', []), 400, /body/],
    ['tx: missing field', post('/v1/transactions', {}), 400, /body\.tx/],
    ['tx: not hex', post('/v1/transactions', { tx: 'zz' }), 400, /body\.tx: expected the encoded transaction as hex/],
    ['tx: odd-length hex', post('/v1/transactions', { tx: 'abc' }), 400, /body\.tx/],
    ['tx: a number', post('/v1/transactions', { tx: 1234 }), 400, /body\.tx/],
    ['tx: unknown field', post('/v1/transactions', { tx: '00', extra: 1 }), 400, /extra/],
    ['tx: undecodable bytes', post('/v1/transactions', { tx: '0011' }), 400, /undecodable|truncated/],
    ['tx: body larger than the limit', post('/v1/transactions', { tx: '00'.repeat(4096) }), 413, /too large/],
    ['tx: not JSON content', () => api.post('/v1/transactions', 'tx=00', { headers: { 'content-type': 'text/plain' } }), 415, /application\/json/],
    ['txid: not hex', get('/v1/transactions/xyz'), 400, /params\.txid: expected a 32-byte hash/],
    ['txid: too long', get(`/v1/transactions/${txid}00`), 400, /params\.txid/],
    ['txid: negative wait', get(`/v1/transactions/${txid}?wait=-1`), 400, /query\.wait/],
    ['txid: fractional wait', get(`/v1/transactions/${txid}?wait=1.5`), 400, /query\.wait/],
    ['txid: wait given twice', get(`/v1/transactions/${txid}?wait=1&wait=2`), 400, /query\.wait/],
    ['sessions: negative from', get('/v1/sessions?from=-1'), 400, /query\.from/],
    ['sessions: exponent limit', get('/v1/sessions?limit=1e3'), 400, /query\.limit/],
    ['sessions: overflowing from', get('/v1/sessions?from=99999999999999999999'), 400, /query\.from/],
    ['status: word index', get('/v1/sessions/abc/status'), 400, /params\.i: expected a session index/],
    ['status: negative index', get('/v1/sessions/-1/status'), 400, /params\.i/],
    ['status: fractional index', get('/v1/sessions/1.5/status'), 400, /params\.i/],
    ['status: overflowing index', get('/v1/sessions/18446744073709551616/status'), 400, /params\.i/],
    ['signed: bad index', get('/v1/sessions/x/signed'), 400, /params\.i/],
    ['signed: bad wait', get('/v1/sessions/0/signed?wait=soon'), 400, /query\.wait/],
    ['items: negative offset', get('/v1/sessions/0/items?offset=-1'), 400, /query\.offset/],
    ['items: word limit', get('/v1/sessions/0/items?limit=all'), 400, /query\.limit/],
    ['history: bad from', get('/v1/audit/history?from=x'), 400, /query\.from/],
    ['history: to before from', get('/v1/audit/history?from=5&to=2'), 400, /query\.to/],
    ['federation: a query it does not take', get('/v1/federation?peer=1'), 400, /query.*peer/],
    ['session count: a query it does not take', get('/v1/sessions/count?from=1'), 400, /query.*from/],
    ['projections: a query it does not take', get('/v1/projections?name=ledger'), 400, /query.*name/],
    ['deposit: negative amount', admin('/v1/admin/deposits', { ...deposit, amount: '-5' }), 400, /body\.amount/],
    ['deposit: negative number amount', admin('/v1/admin/deposits', { ...deposit, amount: -5 }), 400, /body\.amount/],
    ['deposit: amount beyond u64', admin('/v1/admin/deposits', { ...deposit, amount: '18446744073709551616' }), 400, /body\.amount: amount exceeds u64/],
    ['deposit: zero amount', admin('/v1/admin/deposits', { ...deposit, amount: '0' }), 400, /positive/],
    ['deposit: fractional amount', admin('/v1/admin/deposits', { ...deposit, amount: 1.5 }), 400, /body\.amount/],
    ['deposit: unsafe number amount', admin('/v1/admin/deposits', { ...deposit, amount: 2 ** 60 }), 400, /body\.amount/],
    ['deposit: short depositId', admin('/v1/admin/deposits', { ...deposit, depositId: 'ef' }), 400, /body\.depositId/],
    ['deposit: non-hex recipient', admin('/v1/admin/deposits', { ...deposit, recipient: 'g'.repeat(64) }), 400, /body\.recipient/],
    ['deposit: missing recipient', admin('/v1/admin/deposits', { depositId: deposit.depositId, amount: '1' }), 400, /body\.recipient/],
    ['deposit: unknown field', admin('/v1/admin/deposits', { ...deposit, memo: 'hi' }), 400, /memo/],
    ['deposit: already confirmed', admin('/v1/admin/deposits', { ...deposit, depositId: DEPOSIT_ID }), 400, /already confirmed/],
    ['shutdown: negative session', admin('/v1/admin/shutdown', { afterSession: -1 }), 400, /body\.afterSession/],
    ['shutdown: string session', admin('/v1/admin/shutdown', { afterSession: '3' }), 400, /body\.afterSession/],
    ['shutdown: session already complete', admin('/v1/admin/shutdown', { afterSession: 0 }), 400, /already complete/],
    ['unknown route', get('/v1/nothing'), 404, /no route GET \/v1\/nothing/],
    ['wrong method', () => api.get('/v1/admin/shutdown'), 404, /no route/],
  ];

  it.each(cases)('%s is refused with a readable reason', async (_name, request, status, reason) => {
    const response = await request();
    expect(response.status).toBe(status);
    const answer = await body(response, s.errorBody);
    expect(answer.reason).toMatch(reason);
  });

  it('keeps working after all of that', async () => {
    expect((await api.get('/v1/sessions/count')).status).toBe(200);
    const tx = reissueTransaction((await body(await api.get('/v1/sessions/1/items'), s.itemsResponse)).items[0]!.transaction!.txid, 2);
    expect((await api.post('/v1/transactions', { tx: tx.hex })).status).toBe(202);
  });
});

describe('admin authentication', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api.close();
  });
  const deposit = { depositId: '12'.repeat(32), amount: '7000', recipient: RECIPIENT };

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
    ['basic auth', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
  ])('refuses %s with 401 and changes nothing', async (_name, headers) => {
    for (const path of ['/v1/admin/deposits', '/v1/admin/shutdown']) {
      const response = await api.post(path, path.endsWith('deposits') ? deposit : { afterSession: 3 }, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect((await body(response, s.errorBody)).error).toBe('unauthorized');
    }
    expect(api.guardian.shutdownAfter).toBeUndefined();
  });

  it('accepts the right token', async () => {
    const response = await api.post('/v1/admin/deposits', deposit, { token: ADMIN_TOKEN });
    expect(response.status).toBe(202);
    expect(await body(response, s.depositResponse)).toEqual({ depositId: deposit.depositId, status: 'queued', itemHash: deposit.depositId });
  });

  it('refuses to start with a short admin token', async () => {
    const { createApiApp } = await import('../../src/api/app.ts');
    expect(() => createApiApp(api.guardian, { adminToken: 'short' })).toThrow(/at least 16/);
  });
});

describe('long-polls', () => {
  let api: ApiServer;
  let claimTxid: string;
  beforeAll(async () => {
    api = await startApiServer({ maxWaitMs: 400 });
    ({ claimTxid } = await seedHistory(api));
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });

  it('a pending transaction is answered pending when ?wait= runs out', async () => {
    const tx = reissueTransaction(claimTxid, 3);
    expect((await api.post('/v1/transactions', { tx: tx.hex })).status).toBe(202);
    const started = performance.now();
    const status = await body(await api.get(`/v1/transactions/${tx.txid}?wait=150`), s.txStatusResponse);
    expect(status.status).toBe('pending');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('?wait= is capped by maxWaitMs', async () => {
    const started = performance.now();
    const response = await api.get('/v1/sessions/2/signed?wait=600000');
    const elapsed = performance.now() - started;
    expect(response.status).toBe(404);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(3_000);
    expect(api.guardian.sessionCompletedObservers()).toBe(0);
  });

  it('a waiting request is answered as soon as its session completes', async () => {
    const waiting = api.get('/v1/sessions/2/signed?wait=5000');
    const txWaiting = api.get(`/v1/transactions/${reissueTransaction(claimTxid, 3).txid}?wait=5000`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api.guardian.seal();
    const signed = await body(await waiting, s.signedSessionResponse);
    expect(signed.session).toBe(2);
    expect(signed.items).toHaveLength(1);
    expect((await body(await txWaiting, s.txStatusResponse)).status).toBe('accepted');
  });

  it('releases the wait when the client goes away', async () => {
    const tx = reissueTransaction(reissueTransaction(claimTxid, 3).txid, 4);
    expect((await api.post('/v1/transactions', { tx: tx.hex })).status).toBe(202);
    const controller = new AbortController();
    const signedWait = api.get('/v1/sessions/3/signed?wait=400', { signal: controller.signal }).catch((error: unknown) => error);
    const txWait = api.get(`/v1/transactions/${tx.txid}?wait=400`, { signal: controller.signal }).catch((error: unknown) => error);
    await waitUntil(() => api.guardian.sessionCompletedObservers() === 1 && api.guardian.waitingTransactions() === 1);
    controller.abort();
    expect(await signedWait).toBeInstanceOf(Error);
    expect(await txWait).toBeInstanceOf(Error);
    await waitUntil(() => api.guardian.sessionCompletedObservers() === 0 && api.guardian.aborted.length === 1 && api.guardian.waitingTransactions() === 0);
    // The metrics count a request whose client hung up as 499, under its route template.
    const metrics = await (await api.get('/metrics')).text();
    expect(metrics).toContain('fedlog_http_requests_total{method="GET",route="/v1/sessions/:i/signed",status="499"} 1');
    expect(metrics).toContain('fedlog_http_requests_total{method="GET",route="/v1/transactions/:txid",status="499"} 1');
  });
});

describe('submitting and waiting in one request', () => {
  let api: ApiServer;
  let claimTxid: string;
  beforeAll(async () => {
    api = await startApiServer();
    ({ claimTxid } = await seedHistory(api));
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api.close();
  });
  const sealSoon = () => setTimeout(() => void api.guardian.seal(), 50);

  it('POST /v1/transactions?wait= answers 202 pending when the wait runs out', async () => {
    const tx = reissueTransaction(claimTxid, 70);
    const response = await api.post('/v1/transactions?wait=100', { tx: tx.hex });
    expect(response.status).toBe(202);
    expect(await body(response, s.submittedResponse)).toEqual({ txid: tx.txid, status: 'pending' });
  });

  it('POST /v1/transactions?wait= answers 200 accepted, with its place, once it is recorded', async () => {
    await api.guardian.seal(); // records the pending one of the previous case in session 2
    const first = reissueTransaction(claimTxid, 70);
    const tx = reissueTransaction(first.txid, 72);
    sealSoon();
    const response = await api.post('/v1/transactions?wait=2000', { tx: tx.hex });
    expect(response.status).toBe(200);
    expect(await body(response, s.submittedResponse)).toEqual({ txid: tx.txid, status: 'accepted', session: 3, index: 0 });
    // Already accepted: its place at once.
    const again = await api.post('/v1/transactions?wait=2000', { tx: first.hex.toUpperCase() });
    expect(again.status).toBe(200);
    expect(await body(again, s.submittedResponse)).toEqual({ txid: first.txid, status: 'accepted', session: 2, index: 0 });
  });

  it('POST /v1/transactions?wait= still refuses an invalid transaction with 400', async () => {
    const response = await api.post('/v1/transactions?wait=2000', { tx: reissueTransaction('cd'.repeat(32), 71).hex });
    expect(response.status).toBe(400);
    expect(await body(response, s.errorBody)).toEqual({ error: 'invalid_transaction', reason: 'input 0: note unknown or already spent' });
  });

  const second = () => reissueTransaction(reissueTransaction(claimTxid, 70).txid, 72);

  it('POST /v1/transactions/batch answers each transaction in order: accepted, already accepted, invalid, undecodable', async () => {
    const spent = second();
    const fresh = reissueTransaction(spent.txid, 76);
    sealSoon();
    const response = await api.post('/v1/transactions/batch?wait=2000', { txs: [fresh.hex, spent.hex, reissueTransaction('cd'.repeat(32), 73).hex, '0011'] });
    expect(response.status).toBe(200);
    const { results } = await body(response, s.submitBatchResponse);
    expect(results).toHaveLength(4);
    expect(results[0]).toEqual({ txid: fresh.txid, status: 'accepted', session: 4, index: 0 });
    expect(results[1]).toEqual({ txid: spent.txid, status: 'accepted', session: 3, index: 0 });
    expect(results[2]).toMatchObject({ status: 'invalid', reason: 'input 0: note unknown or already spent' });
    expect(results[3]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/undecodable|truncated/) });
  });

  it('POST /v1/transactions/batch without ?wait= answers pending for queued ones, and queueFull with a retry hint', async () => {
    const next = reissueTransaction(reissueTransaction(second().txid, 76).txid, 77);
    const queued = await body(await api.post('/v1/transactions/batch', { txs: [next.hex] }), s.submitBatchResponse);
    expect(queued.results).toEqual([{ txid: next.txid, status: 'pending' }]);
    api.guardian.queueFull = true;
    try {
      const full = await body(await api.post('/v1/transactions/batch?wait=500', { txs: [reissueTransaction(next.txid, 78).hex] }), s.submitBatchResponse);
      expect(full.results).toEqual([{ status: 'queueFull', retryAfterSeconds: 2 }]);
    } finally {
      api.guardian.queueFull = false;
    }
  });

  it.each([
    ['an empty batch', { txs: [] }, /body\.txs: a batch holds at least one/],
    ['more than the bound', { txs: Array.from({ length: s.MAX_BATCH_TRANSACTIONS + 1 }, () => '00') }, /at most 1000 transactions/],
    ['a non-hex entry', { txs: ['00', 'zz'] }, /body\.txs\.1: expected the encoded transaction as hex/],
    ['txs not an array', { txs: '00' }, /body\.txs/],
    ['an unknown field', { txs: ['00'], wait: 5 }, /wait/],
  ])('POST /v1/transactions/batch refuses %s with 400', async (_name, payload, reason) => {
    const response = await api.post('/v1/transactions/batch', payload);
    expect(response.status).toBe(400);
    expect((await body(response, s.errorBody)).reason).toMatch(reason);
  });

  it('POST /v1/transactions/batch refuses a negative ?wait=', async () => {
    const response = await api.post('/v1/transactions/batch?wait=-1', { txs: ['00'] });
    expect(response.status).toBe(400);
    expect((await body(response, s.errorBody)).reason).toMatch(/query\.wait/);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
