import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import { ProjectionHostStoppedError } from '../projections/projectionHost.ts';
import { EventLogClosedError } from '../streams/errors.ts';

/**
 * Every failure the API reports is `{ error, reason }` with a 4xx/5xx status. Handlers throw
 * ApiError for expected refusals; body-parser's own errors are mapped here too, so a malformed
 * or oversized body is a readable 4xx and never a 500 with a stack trace.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${code}: ${reason}`);
    this.name = 'ApiError';
  }
}

/** A zod failure as one line per issue, prefixed with where it was found ("query.limit: ..."). */
export function invalidRequest(where: 'params' | 'query' | 'body', error: z.ZodError): ApiError {
  const reasons = error.issues.map((issue) => {
    const path = [where, ...issue.path.map(String)].join('.');
    return `${path}: ${issue.message}`;
  });
  return new ApiError(400, 'invalid_request', reasons.join('; '));
}

/** body-parser errors carry `type` and `status`; these are the ones a client can cause. */
const bodyParserErrors: Record<string, { status: number; code: string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large' },
  'entity.parse.failed': { status: 400, code: 'malformed_json' },
  'entity.verify.failed': { status: 400, code: 'malformed_json' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset' },
  'request.aborted': { status: 400, code: 'request_aborted' },
  'request.size.invalid': { status: 400, code: 'request_size_invalid' },
  'parameters.too.many': { status: 413, code: 'payload_too_large' },
};

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`));
}

export function errorHandler(onUnexpected: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    let failure: ApiError;
    const { type, status } = (typeof error === 'object' && error !== null ? error : {}) as { type?: unknown; status?: unknown };
    if (error instanceof ApiError) failure = error;
    // The guardian stopped (its log closed) while the server still answers: nothing failed, it is going away.
    else if (error instanceof EventLogClosedError || error instanceof ProjectionHostStoppedError) failure = new ApiError(503, 'stopping', 'the guardian is stopping; retry later', { 'Retry-After': '5' });
    else if (typeof type === 'string' && type in bodyParserErrors) {
      const known = bodyParserErrors[type]!;
      failure = new ApiError(known.status, known.code, (error as Error).message);
    } else if (typeof status === 'number' && status >= 400 && status < 500) {
      // The router's own client errors, e.g. a path with malformed percent-encoding (URIError, status 400).
      failure = new ApiError(status, 'bad_request', error instanceof Error ? error.message : 'bad request');
    } else {
      onUnexpected(error);
      failure = new ApiError(500, 'internal', 'the guardian failed to answer; see its log');
    }
    res.status(failure.status).set(failure.headers).json({ error: failure.code, reason: failure.reason });
  };
}
