import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestHandler } from 'express';

/**
 * HTTP request metrics, added to the guardian's own registry so /metrics is one scrape. The
 * route label is the route template ("/v1/sessions/:i/status"), never the raw path: raw paths
 * would let any client mint unbounded label values and exhaust the registry.
 */
export interface HttpMetrics {
  /** Records the request when its response finishes or the client goes away. */
  middleware: RequestHandler;
  /** Records a request answered elsewhere (the API front thread's kept answers). */
  record(method: string, route: string, status: string, seconds: number): void;
}

export const UNMATCHED_ROUTE = 'unmatched';

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const labelNames = ['method', 'route', 'status'] as const;
  // createApiApp may be called twice on one registry (a restart in tests); reuse what is there.
  const requests =
    (registry.getSingleMetric('fedlog_http_requests_total') as Counter<(typeof labelNames)[number]> | undefined) ??
    new Counter({ name: 'fedlog_http_requests_total', help: 'HTTP requests answered, by method, route template and status', labelNames, registers: [registry] });
  const duration =
    (registry.getSingleMetric('fedlog_http_request_duration_seconds') as Histogram<(typeof labelNames)[number]> | undefined) ??
    new Histogram({
      name: 'fedlog_http_request_duration_seconds',
      help: 'HTTP request duration in seconds (long-polls included), by method, route template and status',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    });

  return {
    record(method, route, status, seconds) {
      const labels = { method, route, status };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    middleware(req, res, next) {
      const started = process.hrtime.bigint();
      let recorded = false;
      const record = () => {
        if (recorded) return;
        recorded = true;
        const route = typeof res.locals.route === 'string' ? res.locals.route : UNMATCHED_ROUTE;
        // A client that hung up before the answer gets the nginx convention 499.
        const status = res.writableFinished ? String(res.statusCode) : '499';
        const labels = { method: req.method, route, status };
        requests.inc(labels);
        duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      };
      res.once('finish', record);
      res.once('close', record);
      next();
    },
  };
}
