import { z } from 'zod';
import type { AnyRoute, ResponseSpec } from './route.ts';
import { errorBody } from './schemas.ts';

/**
 * OpenAPI 3.1 from the route table. Inputs are rendered as what a client sends (`io: 'input'`:
 * strings for path and query values, before the server's transforms), outputs as what the server
 * answers. OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what zod emits.
 */

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
};

/** `/v1/sessions/:i/status` -> `/v1/sessions/{i}/status`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

function parameters(where: 'path' | 'query', schema: z.ZodType | undefined): JsonSchema[] {
  if (schema === undefined) return [];
  const json = schemaOf(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: where, required: where === 'path' || required.has(name), schema: rest, ...(description === undefined ? {} : { description }) };
  });
}

/** `get /v1/sessions/:i/status` -> `getV1SessionsByIStatus`: stable and usable as an identifier by client generators. */
function operationId(route: AnyRoute): string {
  const words = route.path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter((word) => word !== '');
  return route.method + (words.length === 0 ? 'Root' : words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''));
}

function contentOf(spec: ResponseSpec): Record<string, JsonSchema> {
  const content: Record<string, JsonSchema> = { [spec.contentType ?? 'application/json']: { schema: schemaOf(spec.schema!, 'output') } };
  for (const [type, schema] of Object.entries(spec.alternatives ?? {})) content[type] = { schema: schemaOf(schema, 'output') };
  return content;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export function openApiDocument(routes: readonly AnyRoute[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const headers = Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
      responses[status] = {
        description: spec.description,
        ...(spec.schema === undefined ? {} : { content: contentOf(spec) }),
        ...(Object.keys(headers).length === 0 ? {} : { headers }),
      };
    }
    responses.default = { description: 'an error', content: { 'application/json': { schema: schemaOf(errorBody, 'output') } } };
    const operation: JsonSchema = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      parameters: [...parameters('path', route.params), ...parameters('query', route.query)],
      responses,
      ...(route.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }),
      ...(route.admin === true ? { security: [{ adminToken: [] }] } : {}),
    };
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token from the guardian config' } } },
  };
}
