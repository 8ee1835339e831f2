import { readFileSync } from 'node:fs';
import express, { type Express } from 'express';
import type { GuardianHandle } from '../consensus/guardian.ts';
import { requireAdminToken } from './adminAuth.ts';
import { errorHandler, notFoundHandler } from './apiError.ts';
import { createHttpMetrics } from './httpMetrics.ts';
import { createItemViewer } from './itemView.ts';
import { openApiDocument } from './openApi.ts';
import { dashboardRoutes } from './dashboardRoutes.ts';
import { createReadModels } from './readModels.ts';
import { cachedAnswers, cachedRequests, mountRoute, type CachedAnswer } from './route.ts';
import { apiRoutes } from './routes.ts';
import { createSessionActivity } from './sessionActivity.ts';

/**
 * The guardian's HTTP API (DESIGN.md, "REST API"): guardian, analyst and admin endpoints under
 * /v1, /metrics, /openapi.json and the dashboard at /. It only reads projections and the log and
 * calls the guardian handle, so a bad request can cost a 4xx and never the guardian.
 */

export interface ApiOptions {
  /** Bearer token for /v1/admin/* (at least 16 characters). */
  adminToken: string;
  /** Largest JSON body accepted; more is 413. Default 256 KiB (a 50,000-byte transaction is 100,000 hex characters). */
  maxBodyBytes?: number;
  /** Cap on `?wait=` long-polls. Default 30 s. */
  maxWaitMs?: number;
  /** Largest page (sessions, items, audit sheets). Default 1000. */
  maxPage?: number;
  /** Told about unexpected handler failures (answered 500). Default: console.error. */
  onError?: (error: unknown) => void;
}

const dashboardHtml = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');

/** The app, and what an API front thread (apiFront.ts) needs to answer the cached GETs without it. */
export interface Api {
  app: Express;
  /** The paths of the routes marked `cached` (the only GETs whose answers a front may keep). */
  cachedPaths: readonly string[];
  /** The app's current 200 answer to a GET of `url` on a route marked `cached`; undefined for anything else. */
  cachedAnswer(url: string): CachedAnswer | undefined;
  /** The version (projection position) a current answer to a GET of `url` would be computed at, without computing it. */
  cachedVersion(url: string): unknown;
  /** Counts in the HTTP metrics GETs of `route` that the front answered 200, one per duration (seconds). */
  recordServed(route: string, seconds: readonly number[]): void;
}

export function createApiApp(guardian: GuardianHandle, options: ApiOptions): Express {
  return createApi(guardian, options).app;
}

export function createApi(guardian: GuardianHandle, options: ApiOptions): Api {
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const maxPage = options.maxPage ?? 1000;
  const admin = requireAdminToken(options.adminToken);
  const httpMetrics = createHttpMetrics(guardian.metrics);

  const app = express();
  app.disable('x-powered-by');
  // No ETag: express would hash every answer (a sha1 of the body, on the session loop's thread)
  // for conditional GETs that no client of this API sends; cached answers are cheap to resend.
  app.set('etag', false);
  // Path parameters are matched case-sensitively and strictly, so one resource has one route label.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(httpMetrics.middleware);
  app.use(express.json({ limit: maxBodyBytes, strict: true }));

  const routes = apiRoutes(
    {
      guardian,
      reads: createReadModels(guardian),
      items: createItemViewer(),
      metricsText: async () => ({ contentType: guardian.metrics.contentType, text: await guardian.metrics.metrics() }),
      openApi: () => document,
      dashboardHtml,
    },
    { maxWaitMs, maxPage },
  );
  routes.push(...dashboardRoutes(createSessionActivity(guardian), maxPage));
  const document = openApiDocument(routes, {
    title: 'fedlog guardian API',
    version: '1',
    description: 'One guardian of a fedlog federation: submit transactions, follow sessions, read the audit.',
  });
  for (const route of routes) mountRoute(app, route, route.admin === true ? [admin] : []);
  const cachedRequest = cachedRequests(routes);

  app.use(notFoundHandler());
  app.use(errorHandler(options.onError ?? ((error) => console.error('fedlog api: unexpected failure', error))));
  return {
    app,
    cachedPaths: routes.filter((route) => route.cached !== undefined && route.method === 'get').map((route) => route.path),
    cachedAnswer: cachedAnswers(routes),
    cachedVersion(url) {
      const request = cachedRequest(url);
      return request?.route.cached!.version(request.query);
    },
    recordServed(route, seconds) {
      for (const s of seconds) httpMetrics.record('GET', route, '200', s);
    },
  };
}
