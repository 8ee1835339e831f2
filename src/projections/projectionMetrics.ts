import { Gauge, type Registry } from 'prom-client';
import type { ProjectionHost } from './projectionHost.ts';

/**
 * The projections in /metrics: how far each is behind the log and whether it stopped. A projection
 * that stopped following (its evolve threw, or the log's subscription failed for good) must show
 * in monitoring, not only in GET /v1/projections.
 */
export function registerProjectionMetrics(registry: Registry, projections: () => ProjectionHost | undefined): void {
  new Gauge({
    name: 'fedlog_projection_lag',
    help: 'Events appended to (or received from) the log that the projection has not folded yet',
    labelNames: ['projection'],
    registers: [registry],
    collect() {
      for (const status of projections()?.status() ?? []) this.set({ projection: status.name }, status.lag);
    },
  });
  new Gauge({
    name: 'fedlog_projection_failed',
    help: '1 when the projection stopped following the log (see GET /v1/projections for the reason)',
    labelNames: ['projection'],
    registers: [registry],
    collect() {
      for (const status of projections()?.status() ?? []) this.set({ projection: status.name }, status.failed === undefined ? 0 : 1);
    },
  });
}
