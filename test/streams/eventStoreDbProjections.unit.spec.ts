import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { Projection } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { registerProjectionMetrics } from '../../src/projections/projectionMetrics.ts';
import { countAppends } from '../../src/streams/appendCounter.ts';
import { eventStoreDbLogOver } from '../../src/streams/eventStoreDb.ts';
import { unavailable } from './eventStoreDbClusterErrors.ts';
import { createFakeEventStoreDb } from './eventStoreDbFakeClient.ts';

/**
 * Projections over an EventStoreDB log, whose positions are byte offsets: their lag still counts
 * events. And when the cluster misbehaves: a subscription the server ends
 * is followed on with nothing missed; one that cannot be reopened stops every projection loudly,
 * in GET /v1/projections' status and in /metrics, instead of leaving them silently behind.
 */

const counting: Projection<number> = { name: 'count', version: 1, initial: 0, evolve: (n) => n + 1, toSnapshot: (n) => n, fromSnapshot: (json) => Number(json) };

describe('projections over an EventStoreDB log', () => {
  it('keep following when the server ends their subscription', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { streamPrefix: 'g0/', resubscribeDelayMs: 1 });
    const host = await startProjections(log, { retention: 0, projections: [counting] });
    await log.append('s', [{ type: 'T', data: 1 }]);
    await vi.waitFor(() => expect(host.state(counting)).toBe(1));
    fake.endSubscriptions();
    await log.append('s', [{ type: 'T', data: 2 }, { type: 'T', data: 3 }]);
    await vi.waitFor(() => expect(host.state(counting)).toBe(3));
    expect(host.status()[0]!.failed).toBeUndefined();
    await host.stop();
  });

  it('count their lag in events, not in the byte offsets between positions', async () => {
    const fake = createFakeEventStoreDb({ systemEventEvery: 2 });
    const log = countAppends(eventStoreDbLogOver(fake.client, { streamPrefix: 'g0/', resubscribeAttempts: 50, resubscribeDelayMs: 5, retry: { maxDelayMs: 5 } }));
    await log.append('s', [{ type: 'T', data: 'before the host' }]);
    const host = await startProjections(log, { retention: 0, projections: [counting], appended: log.appended });
    const registry = new Registry();
    registerProjectionMetrics(registry, () => host);
    expect(host.status()[0]!.lag).toBe(0);

    // The cluster stops delivering while the writer goes on: three events, hundreds of bytes apart.
    fake.failNewSubscriptions(unavailable());
    fake.dropSubscriptions(unavailable());
    const first = await log.append('s', [{ type: 'T', data: 'x'.repeat(300) }]);
    const last = await log.append('s', [{ type: 'T', data: 2 }, { type: 'T', data: 3 }]);
    expect(last.position - BigInt(host.status()[0]!.position)).toBeGreaterThan(400n);
    expect(last.position - first.position).toBeGreaterThan(2n);
    expect(host.status()[0]!.lag).toBe(3);
    expect(await registry.metrics()).toContain('fedlog_projection_lag{projection="count"} 3');

    // Delivering again, the host folds them and owes nothing.
    fake.failNewSubscriptions(undefined);
    await vi.waitFor(() => expect(host.state(counting)).toBe(4));
    expect(host.status()[0]!.lag).toBe(0);
    expect(host.status()[0]!.failed).toBeUndefined();
    await host.stop();
  });

  it('fail loudly in their status and in /metrics when the subscription cannot be reopened', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { resubscribeAttempts: 2, resubscribeDelayMs: 1 });
    const host = await startProjections(log, { retention: 0, projections: [counting] });
    const registry = new Registry();
    registerProjectionMetrics(registry, () => host);
    const failed = new Promise((resolve) => host.changes$.subscribe({ error: resolve }));
    fake.failNewSubscriptions(unavailable());
    fake.dropSubscriptions(unavailable());
    expect(await failed).toMatchObject({ code: 14 });
    expect(host.status()[0]!.failed).toEqual({ position: '0', reason: 'the log subscription failed: 14 UNAVAILABLE: No connection established' });
    const metrics = await registry.metrics();
    expect(metrics).toContain('fedlog_projection_failed{projection="count"} 1');
    expect(fake.subscriptionsOpened()).toBe(3);
    await host.stop();
  });
});
