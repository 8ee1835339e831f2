import { parse as parseQueryString } from 'node:querystring';
import type { Express, RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { ApiError, invalidRequest } from './apiError.ts';

/**
 * One endpoint: its path, the zod schemas of its params, query and body, its answers, and its
 * handler. The app mounts routes from this table and /openapi.json is generated from it, so an
 * endpoint cannot be served without being documented, nor documented with other schemas than
 * the ones it validates with.
 */

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
  headers?: Record<string, string>;
  /** The same answer in other representations, by content type (a route's `produces`). */
  alternatives?: Record<string, z.ZodType>;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Aborted when the client goes away, so a long-poll stops waiting for nobody. */
  signal: AbortSignal;
  /** For a route with `produces`: the one of them the request's Accept header prefers (the first when none). */
  accepts?: string;
}

/** The type of an absent schema (no params, query or body). */
type None = z.ZodObject<Record<string, never>>;

export interface Route<P extends z.ZodType = None, Q extends z.ZodType = None, B extends z.ZodType = None> {
  method: 'get' | 'post';
  /** Express syntax (`/v1/sessions/:i/status`); also the `route` label of the HTTP metrics. */
  path: string;
  summary: string;
  tag: string;
  /** Behind `Authorization: Bearer <adminToken>`. */
  admin?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseSpec>;
  /**
   * Content types the handler can answer in, the default first. Only such a route is told the
   * request's preference (`accepts`); every other route answers JSON whatever the Accept header.
   */
  produces?: readonly [string, ...string[]];
  /**
   * A GET whose 200 answers may be kept by the API front thread (apiFront.ts) and resent from there
   * while `version()` (the position of the projection the answer is computed from) has not moved.
   * Only for a path without parameters and a synchronous handler whose answer (a string body)
   * depends on nothing but the query and that projection's state.
   */
  cached?: {
    version(query: z.output<Q>): unknown;
    /** Whether answers to `query` may be kept (default: all); the front passes the others through every time. */
    keeps?(query: z.output<Q>): boolean;
  };
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<Reply> | Reply;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = Route<any, any, any>;

/** Identity, for inference of the handler's input types from the schemas. */
export function defineRoute<P extends z.ZodType = None, Q extends z.ZodType = None, B extends z.ZodType = None>(route: Route<P, Q, B>): AnyRoute {
  return route as AnyRoute;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => (headers === undefined ? { status, body } : { status, body, headers });

/** A route that declares no query takes none: an unknown key is refused, as on routes that declare one. */
const NO_QUERY = z.strictObject({});
const queryOf = (route: AnyRoute): z.ZodType => route.query ?? NO_QUERY;

function parse<S extends z.ZodType>(where: 'params' | 'query' | 'body', schema: S | undefined, value: unknown): z.output<S> | undefined {
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(where, parsed.error);
  return parsed.data;
}

/** Mounts `route` on `app` behind `before` (e.g. admin auth), validating every input first. */
export function mountRoute(app: Express, route: AnyRoute, before: RequestHandler[]): void {
  const label: RequestHandler = (_req, res, next) => {
    res.locals.route = route.path;
    next();
  };
  const answer = async (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]): Promise<void> => {
    const controller = new AbortController();
    // 'close' before the response finished means the client hung up.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    if (route.method === 'post' && route.body !== undefined && !req.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    }
    const input = {
      params: parse('params', route.params, req.params),
      query: parse('query', queryOf(route), req.query),
      body: parse('body', route.body, req.body),
      signal: controller.signal,
      ...(route.produces === undefined ? {} : { accepts: req.accepts([...route.produces]) || route.produces[0] }),
    };
    const reply = await route.handle(input);
    if (controller.signal.aborted) return;
    res.status(reply.status);
    // The answer depends on Accept: a shared cache must not give the CSV to a client asking for JSON.
    if (route.produces !== undefined) res.vary('Accept');
    if (reply.headers !== undefined) res.set(reply.headers);
    if (typeof reply.body === 'string') res.send(reply.body);
    else res.json(reply.body);
  };
  const handler: RequestHandler = (req, res, next) => {
    answer(req, res).catch(next);
  };
  app[route.method](route.path, label, ...before, handler);
}

/** A cached route's current answer to one GET, as the app would send it. */
export interface CachedAnswer {
  body: string;
  headers: Record<string, string>;
  /** The route's `cached.version()` the answer was computed at. */
  version: unknown;
}

const NEVER_ABORTED = new AbortController().signal;

/**
 * Answers a GET of `url` (path and query string, as received) the way the app would, for the
 * routes marked `cached`; undefined for any other URL, an invalid query or an answer other than a
 * 200 (the app itself answers those). Paths match as the app matches them: exactly (case-sensitive,
 * strict routing), queries parsed as express's 'simple' parser does.
 */
export function cachedAnswers(routes: readonly AnyRoute[]): (url: string) => CachedAnswer | undefined {
  const requestOf = cachedRequests(routes);
  return (url) => {
    const request = requestOf(url);
    if (request === undefined) return undefined;
    const { route, query } = request;
    const version = route.cached!.version(query);
    let reply: Reply | Promise<Reply>;
    try {
      reply = route.handle({ params: {}, query, body: undefined, signal: NEVER_ABORTED });
    } catch {
      return undefined;
    }
    if (reply instanceof Promise || reply.status !== 200 || typeof reply.body !== 'string') return undefined;
    return { body: reply.body, headers: reply.headers ?? {}, version };
  };
}

/**
 * A GET's URL (path and query string) as the app matches it: its route marked `cached` and its
 * parsed query; undefined for any other route or an invalid query. Parsed queries are remembered
 * (bounded) since the API front asks for the version of every kept URL after each fold.
 */
export function cachedRequests(routes: readonly AnyRoute[]): (url: string) => { route: AnyRoute; query: unknown } | undefined {
  const byPath = new Map(routes.filter((r) => r.cached !== undefined && r.method === 'get').map((r) => [r.path, r]));
  const parsedQueries = new LRUCache<string, { route: AnyRoute; query: unknown }>({ max: 1024 });
  return (url) => {
    const known = parsedQueries.get(url);
    if (known !== undefined) return known;
    const mark = url.indexOf('?');
    const route = byPath.get(mark < 0 ? url : url.slice(0, mark));
    if (route === undefined) return undefined;
    const parsed = queryOf(route).safeParse(parseQueryString(mark < 0 ? '' : url.slice(mark + 1)));
    if (!parsed.success) return undefined;
    const query: unknown = parsed.data;
    if (route.cached!.keeps?.(query) === false) return undefined;
    const request = { route, query };
    parsedQueries.set(url, request);
    return request;
  };
}
