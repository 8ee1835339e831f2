import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';

interface Sheet {
  session: number;
  itemCount: number;
  modules: Array<{ moduleName?: string; name: string; msat: string }>;
  netAssets: string;
}

describe('GET /v1/audit/history as CSV', () => {
  let api: ApiServer;
  let sheets: Sheet[];

  beforeAll(async () => {
    api = await startApiServer();
    await seedHistory(api);
    sheets = ((await (await api.get('/v1/audit/history')).json()) as { sheets: Sheet[] }).sheets;
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api?.close();
  });

  it('answers text/csv when Accept prefers it: a header row, then one row per session with the same figures as the JSON', async () => {
    const response = await api.get('/v1/audit/history', { headers: { accept: 'text/csv' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(response.headers.get('vary')).toMatch(/Accept/);
    const text = await response.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = text.trimEnd().split('\r\n').map((row) => row.split(','));
    expect(rows[0]).toEqual(['session', 'items', 'wallet reserves (msat)', 'mint outstanding notes (msat)', 'net assets (msat)']);
    expect(rows.slice(1)).toEqual(sheets.map((sheet) => [String(sheet.session), String(sheet.itemCount), ...sheet.modules.map((line) => line.msat), sheet.netAssets]));
    // The seeded history: an admin's deposit notice (nothing on the books yet), then the claim.
    expect(rows.slice(1)).toEqual([
      ['0', '1', '0', '0', '0'],
      ['1', '1', '10000', '-9000', '1000'],
    ]);
  });

  it('?format= chooses over the Accept header; the range query applies to either', async () => {
    const csv = await api.get('/v1/audit/history?format=csv&from=1');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).trimEnd().split('\r\n')).toHaveLength(2);
    const asJson = await api.get('/v1/audit/history?format=json', { headers: { accept: 'text/csv' } });
    expect(asJson.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await asJson.json()) as { sheets: Sheet[] }).sheets).toEqual(sheets);
    expect((await api.get('/v1/audit/history?format=xml')).status).toBe(400);
  });

  it('stays JSON without a preference for CSV, and other routes ignore Accept as before', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/csv;q=0.5', 'image/png']) {
      const response = await api.get('/v1/audit/history', accept === undefined ? {} : { headers: { accept } });
      expect(response.headers.get('content-type'), String(accept)).toMatch(/^application\/json/);
    }
    const audit = await api.get('/v1/audit', { headers: { accept: 'text/csv' } });
    expect(audit.headers.get('content-type')).toMatch(/^application\/json/);
    expect(audit.headers.get('vary') ?? '').not.toMatch(/Accept/);
  });

  it('is documented: both representations of the 200, and the format parameter', async () => {
    const doc = (await (await api.get('/openapi.json')).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; schema: unknown }>; responses: Record<string, { content?: Record<string, { schema: unknown }> }> } }>;
    };
    const history = doc.paths['/v1/audit/history']!.get;
    expect(Object.keys(history.responses['200']!.content!)).toEqual(['application/json', 'text/csv']);
    expect(history.responses['200']!.content!['text/csv']!.schema).toMatchObject({ type: 'string' });
    expect(history.parameters.find((p) => p.name === 'format')?.schema).toEqual({ type: 'string', enum: ['json', 'csv'] });
    expect(Object.keys(doc.paths['/v1/audit']!.get.responses['200']!.content!)).toEqual(['application/json']);
  });
});

describe('GET /v1/audit/history cut at the page size', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApiServer({ maxPage: 1 });
    await seedHistory(api);
  });
  afterAll(async () => {
    expect(api.failures).toEqual([]);
    await api?.close();
  });

  it('links the rest of the range (rel="next") until its last completed session, keeping to and format', async () => {
    const first = await api.get('/v1/audit/history?from=0&to=7');
    expect(((await first.json()) as { sheets: Sheet[] }).sheets.map((x) => x.session)).toEqual([0]);
    expect(first.headers.get('link')).toBe('</v1/audit/history?from=1&to=7>; rel="next"');
    const second = await api.get('/v1/audit/history?from=1&to=7');
    expect(((await second.json()) as { sheets: Sheet[] }).sheets.map((x) => x.session)).toEqual([1]);
    // Session 1 is the last completed one: nothing follows it, so no link.
    expect(second.headers.get('link')).toBeNull();
    const csv = await api.get('/v1/audit/history?format=csv');
    expect((await csv.text()).trim().split('\n')).toHaveLength(2);
    expect(csv.headers.get('link')).toBe('</v1/audit/history?from=1&format=csv>; rel="next"');
    expect((await api.get('/v1/audit/history?from=0&to=0')).headers.get('link')).toBeNull();
  });
});
