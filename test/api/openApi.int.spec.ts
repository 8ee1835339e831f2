import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { activityResponse, sessionDetailResponse } from '../../src/api/dashboardRoutes.ts';
import * as s from '../../src/api/schemas.ts';
import { startApiServer, type ApiServer } from './apiServer.ts';

type Operation = {
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
};

/** DESIGN.md's REST table for n = 1: [method, OpenAPI path, request body schema, 200/202 response schema]. */
const endpoints: [string, string, z.ZodType | undefined, z.ZodType | undefined][] = [
  ['get', '/v1/federation', undefined, s.federationResponse],
  ['post', '/v1/transactions', s.submitTransactionBody, s.submittedResponse],
  ['post', '/v1/transactions/batch', s.submitBatchBody, s.submitBatchResponse],
  ['get', '/v1/transactions/{txid}', undefined, s.txStatusResponse],
  ['get', '/v1/sessions/count', undefined, s.countResponse],
  ['get', '/v1/sessions', undefined, s.sessionsResponse],
  ['get', '/v1/sessions/{i}/status', undefined, s.sessionStatusResponse],
  ['get', '/v1/sessions/{i}/signed', undefined, s.signedSessionResponse],
  ['get', '/v1/sessions/{i}/items', undefined, s.itemsResponse],
  ['get', '/v1/audit', undefined, s.auditResponse],
  ['get', '/v1/audit/history', undefined, s.auditHistoryResponse],
  ['get', '/v1/ledger', undefined, s.ledgerResponse],
  ['get', '/v1/peers', undefined, s.peersResponse],
  ['get', '/v1/projections', undefined, s.projectionsResponse],
  ['post', '/v1/admin/deposits', s.depositBody, s.depositResponse],
  ['post', '/v1/admin/shutdown', s.shutdownBody, s.shutdownResponse],
  ['get', '/metrics', undefined, undefined],
  ['get', '/openapi.json', undefined, undefined],
  ['get', '/', undefined, undefined],
  ['get', '/dashboard/{file}', undefined, undefined],
  ['get', '/v1/sessions/activity', undefined, activityResponse],
  ['get', '/v1/sessions/{i}/summary', undefined, sessionDetailResponse],
];

describe('/openapi.json', () => {
  let api: ApiServer;
  let doc: Document;

  beforeAll(async () => {
    api = await startApiServer();
    const response = await api.get('/openapi.json');
    expect(response.status).toBe(200);
    doc = (await response.json()) as Document;
  });
  afterAll(async () => {
    await api.close();
  });

  it('is OpenAPI 3.1 and lists exactly the served routes', () => {
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(listed.sort()).toEqual(endpoints.map(([method, path]) => `${method} ${path}`).sort());
  });

  it.each(endpoints)('%s %s carries the schemas the server validates with', (method, path, body, ok) => {
    const operation = doc.paths[path]![method]!;
    expect(operation.operationId).toMatch(/^[a-z][A-Za-z0-9]*$/);
    if (body === undefined) expect(operation.requestBody).toBeUndefined();
    else expect(operation.requestBody!.content['application/json']!.schema).toEqual(jsonSchema(body, 'input'));
    if (ok !== undefined) {
      const success = operation.responses['200'] ?? operation.responses['202'];
      expect(success!.content!['application/json']!.schema).toEqual(jsonSchema(ok, 'output'));
    }
    expect(operation.responses.default!.content!['application/json']!.schema).toEqual(jsonSchema(s.errorBody, 'output'));
    // Every {param} of the path is declared as a required path parameter.
    for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)) {
      expect(operation.parameters).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
    }
    expect(operation.security !== undefined).toBe(path.startsWith('/v1/admin/'));
  });

  it('documents query parameters as the strings a client sends', () => {
    const sessions = doc.paths['/v1/sessions']!.get!;
    expect(sessions.parameters.map((p) => [p.name, p.in, p.required])).toEqual([
      ['from', 'query', false],
      ['limit', 'query', false],
    ]);
    expect(sessions.parameters[0]!.schema).toEqual({ type: 'string', pattern: '^(?:0|[1-9][0-9]{0,14})$' });
  });

  it('documents the 503 Retry-After of a full queue', () => {
    const submit = doc.paths['/v1/transactions']!.post!;
    expect(submit.responses['503']).toMatchObject({ headers: { 'Retry-After': expect.any(Object) } });
  });

  it('every documented operation is served (none answers "no route")', async () => {
    for (const [method, path] of endpoints) {
      const concrete = path.replace('{txid}', 'ab'.repeat(32)).replace('{i}', '0');
      const response = method === 'get' ? await api.get(concrete) : await api.post(concrete, {});
      const text = await response.text();
      expect(text, `${method} ${path}`).not.toContain('no route');
    }
  });
});
