import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionActivity } from '../../src/api/sessionActivity.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { reissueTransaction, seedHistory } from './fixtures.ts';

/** The dashboard's own routes over the test guardian: session 0 a deposit, session 1 its claim. */
describe('the dashboard routes', () => {
  let api: ApiServer;
  let claimTxid: string;

  beforeAll(async () => {
    api = await startApiServer();
    ({ claimTxid } = await seedHistory(api));
  });
  afterAll(async () => {
    await api.close();
    expect(api.failures).toEqual([]);
  });

  it('serves the chart library and the dashboard files, and 404 for any other name', async () => {
    const chart = await api.get('/dashboard/chart.js');
    expect(chart.status).toBe(200);
    expect(chart.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await chart.text()).toContain('Chart.js v4');
    const css = await api.get('/dashboard/dashboard.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const page = await (await api.get('/')).text();
    for (const [, file] of page.matchAll(/(?:src|href)="\/dashboard\/([^"]+)"/g)) expect((await api.get(`/dashboard/${file}`)).status).toBe(200);
    expect((await api.get('/dashboard/..%2Fapp.ts')).status).toBe(404);
    expect((await api.get('/dashboard/nothing.js')).status).toBe(404);
  });

  it('counts items and transactions per completed session, with the seconds each took and the open session', async () => {
    const response = await api.get('/v1/sessions/activity?from=0&limit=10');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { sessions: { session: number; itemCount: number; transactions?: number; seconds?: number }[]; open: { session: number; itemCount: number } };
    expect(body.sessions.map(({ session, itemCount, transactions }) => ({ session, itemCount, transactions }))).toEqual([
      { session: 0, itemCount: 1, transactions: 0 },
      { session: 1, itemCount: 1, transactions: 1 },
    ]);
    for (const s of body.sessions) expect(s.seconds).toBeGreaterThanOrEqual(0);
    expect(body.open).toMatchObject({ session: 2, itemCount: 0 });
    // A page from session 1 measures it from session 0's completion, as the whole list does.
    const from1 = (await (await api.get('/v1/sessions/activity?from=1&limit=1')).json()) as typeof body;
    expect(from1.sessions).toEqual([body.sessions[1]]);
    expect((await api.get('/v1/sessions/activity?limit=0')).status).toBe(400);
  });

  it("summarizes a session: header, counts, and each peer's signature with its recorded validity", async () => {
    const response = await api.get('/v1/sessions/1/summary');
    expect(response.status).toBe(200);
    const summary = (await response.json()) as Record<string, unknown>;
    const signed = (await (await api.get('/v1/sessions/1/signed')).json()) as { header: string; signatures: Record<string, string> };
    expect(summary).toMatchObject({ session: 1, status: 'complete', source: 'local', header: signed.header, itemCount: 1, transactions: 1, moduleItems: 0 });
    expect(summary.signatures).toEqual([{ peer: 0, signature: signed.signatures['0'], valid: true, inOutcome: true }]);
    const deposit = (await (await api.get('/v1/sessions/0/summary')).json()) as Record<string, unknown>;
    expect(deposit).toMatchObject({ transactions: 0, moduleItems: 1 });
    expect((await api.get('/v1/sessions/99/summary')).status).toBe(404);
  });

  it('keeps transaction counts for the newest sessions of its window only, following new sessions', async () => {
    const reissue = reissueTransaction(claimTxid, 1);
    expect((await api.post('/v1/transactions', { tx: reissue.hex })).status).toBe(202);
    await api.guardian.seal();
    const reads = createSessionActivity(api.guardian, 2);
    // Open session 3: the window is sessions 2 and 3.
    expect(reads.activity(0, 10).map((s) => s.transactions)).toEqual([undefined, undefined, 1]);
    expect((await api.post('/v1/transactions', { tx: reissueTransaction(reissue.txid, 2).hex })).status).toBe(202);
    await api.guardian.seal();
    // Open session 4: the window moves on to sessions 3 and 4, and session 2's count is let go.
    expect(reads.activity(0, 10).map((s) => [s.itemCount, s.transactions])).toEqual([
      [1, undefined],
      [1, undefined],
      [1, undefined],
      [1, 1],
    ]);
  });
});
