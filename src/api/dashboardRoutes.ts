import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ApiError } from './apiError.ts';
import { defineRoute, json, type AnyRoute } from './route.ts';
import { errorBody, sessionParams, sessionsQuery } from './schemas.ts';
import type { SessionActivityReads } from './sessionActivity.ts';

/**
 * The dashboard's own routes: its scripts and styles (src/api/dashboard/), the chart library from
 * node_modules (the guardian serves it: no CDN, so the dashboard works offline), and the two
 * analyst reads its charts and session page need beyond the plain API.
 */

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** The files under /dashboard/, read once: name -> body. */
function dashboardAssets(): Map<string, string> {
  const folder = fileURLToPath(new URL('./dashboard/', import.meta.url));
  const assets = new Map<string, string>();
  for (const name of readdirSync(folder)) if (CONTENT_TYPES[extname(name)] !== undefined) assets.set(name, readFileSync(join(folder, name), 'utf8'));
  // chart.js's package exports name no UMD build: found beside its CommonJS entry.
  const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  assets.set('chart.js', readFileSync(chartJs, 'utf8'));
  return assets;
}

export const activityResponse = z.object({
  sessions: z.array(
    z.object({
      session: z.number().int(),
      itemCount: z.number().int(),
      transactions: z.number().int().optional().describe('accepted transactions; absent for sessions older than the newest 1000'),
      completedAt: z.string().optional(),
      seconds: z.number().optional().describe("from the previous session's completion to this one's"),
    }),
  ),
  open: z.object({ session: z.number().int(), itemCount: z.number().int().describe('items accepted so far'), startedAt: z.string().optional() }),
});

export const sessionDetailResponse = z.object({
  session: z.number().int(),
  status: z.enum(['pending', 'complete']),
  header: z.string().optional(),
  itemCount: z.number().int(),
  transactions: z.number().int(),
  moduleItems: z.number().int(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  seconds: z.number().optional(),
  source: z.enum(['local', 'peer']).optional(),
  signatures: z.array(
    z.object({
      peer: z.number().int(),
      signature: z.string().optional(),
      valid: z.boolean().optional().describe('as this guardian checked it when recorded (SignatureRecorded)'),
      inOutcome: z.boolean().describe('one of the signatures of the completed outcome'),
    }),
  ),
});

export function dashboardRoutes(activity: SessionActivityReads, maxPage: number): AnyRoute[] {
  const assets = dashboardAssets();
  return [
    defineRoute({
      method: 'get',
      path: '/dashboard/:file',
      tag: 'operator',
      summary: "The dashboard's scripts, styles and chart library (chart.js)",
      params: z.object({ file: z.string().describe(`one of ${[...assets.keys()].join(', ')}`) }),
      responses: { 200: { description: 'a script or style sheet', contentType: 'text/javascript' }, 404: { description: 'no such file', schema: errorBody } },
      handle: ({ params }) => {
        const body = assets.get(params.file);
        if (body === undefined) throw new ApiError(404, 'not_found', `no dashboard file ${params.file}`);
        return { status: 200, body, headers: { 'Content-Type': CONTENT_TYPES[extname(params.file)] ?? CONTENT_TYPES['.js']!, 'Cache-Control': 'no-cache' } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/activity',
      tag: 'analyst',
      summary: `Per completed session: items, accepted transactions and the seconds it took (?from=, ?limit= at most ${maxPage}); and the open session's items so far`,
      query: sessionsQuery,
      responses: { 200: { description: 'sessions in order', schema: activityResponse }, 400: { description: 'invalid input', schema: errorBody } },
      handle: ({ query }) => json(200, { sessions: activity.activity(query.from ?? 0, Math.min(query.limit ?? 100, maxPage)), open: activity.open() }),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/:i/summary',
      tag: 'analyst',
      summary: 'One session: header, counts, times, and which peers signed it (valid or not)',
      params: sessionParams,
      responses: { 200: { description: 'the session', schema: sessionDetailResponse }, 404: { description: 'not started', schema: errorBody } },
      handle: async ({ params }) => {
        const detail = await activity.detail(params.i);
        if (detail === undefined) throw new ApiError(404, 'not_found', `session ${params.i} has not started`);
        return json(200, detail);
      },
    }),
  ];
}
