import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { AccessDeniedError, UnavailableError } from '@eventstore/db-client';
import { EventLogClosedError, ExpectedRevisionConflict } from '../../src/streams/errors.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';
import { createEventStoreDbLog, eventStoreDbLogOver } from '../../src/streams/eventStoreDb.ts';
import { describeEventLogContract } from './eventLogContract.ts';
import { describeTruncateStreamContract } from './truncateStreamContract.ts';
import { createFakeEventStoreDb } from './eventStoreDbFakeClient.ts';

/**
 * The adapter's logic over an emulated server (eventStoreDbFakeClient.ts): the shared contract suite,
 * then what the contract cannot see (system events, server-side inclusivity, teardown, dropped calls).
 * The same suite against a real cluster is eventStoreDb.int.spec.ts.
 */

// One emulated server shared by every log, like a real cluster shared by test runs.
const shared = createFakeEventStoreDb({ systemEventEvery: 3 });
describeEventLogContract('eventstoredb (emulated server)', async () => eventStoreDbLogOver(shared.client));
let tenants = 0;
describeEventLogContract('eventstoredb (emulated server, stream prefix)', async () =>
  eventStoreDbLogOver(shared.client, { streamPrefix: `tenant-${tenants++}/` }),
);

async function collect(events: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('EventStoreDB adapter over an emulated server', () => {
  it('appends and reads a stream forwards, backwards, from a revision and with maxCount', async () => {
    const log = eventStoreDbLogOver(createFakeEventStoreDb().client);
    const result = await log.append('session-0', [0, 1, 2, 3].map((i) => ({ type: 'UnitOrdered', data: { i } })), {
      expectedRevision: 'noStream',
    });
    expect(result.nextExpectedRevision).toBe(3);
    const all = await log.readStream('session-0');
    expect(all.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
    expect(result.position).toBe(all[3]!.position);
    expect((await log.readStream('session-0', { direction: 'backwards', maxCount: 2 })).map((e) => e.revision)).toEqual([3, 2]);
    expect((await log.readStream('session-0', { fromRevision: 2 })).map((e) => e.revision)).toEqual([2, 3]);
    expect((await log.readStream('session-0', { direction: 'backwards', fromRevision: 1 })).map((e) => e.revision)).toEqual([1, 0]);
    expect(await log.readStream('session-0', { maxCount: 0 })).toEqual([]);
  });

  it('reads an unknown stream (StreamNotFoundError from the client) as empty', async () => {
    const log = eventStoreDbLogOver(createFakeEventStoreDb().client);
    expect(await log.readStream('nope')).toEqual([]);
  });

  it('raises ExpectedRevisionConflict with the actual revision on every kind of mismatch', async () => {
    const log = eventStoreDbLogOver(createFakeEventStoreDb().client);
    await expect(log.append('s', [{ type: 'T', data: 1 }], { expectedRevision: 'streamExists' })).rejects.toMatchObject({
      name: 'ExpectedRevisionConflict',
      actual: 'noStream',
    });
    await log.append('s', [{ type: 'T', data: 1 }], { expectedRevision: 'noStream' });
    await expect(log.append('s', [{ type: 'T', data: 2 }], { expectedRevision: 'noStream' })).rejects.toMatchObject({ actual: 0 });
    await expect(log.append('s', [{ type: 'T', data: 2 }], { expectedRevision: 5 })).rejects.toBeInstanceOf(ExpectedRevisionConflict);
    await expect(log.append('s', [], { expectedRevision: 3 })).rejects.toMatchObject({ expected: 3, actual: 0 });
    expect(await log.append('s', [], { expectedRevision: 0 })).toMatchObject({ nextExpectedRevision: 0 });
  });

  it('answers an idempotent retry with the original revision and position, reading it back if the server omits it', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client);
    const batch = [{ id: '11111111-1111-4111-8111-111111111111', type: 'T', data: { a: 1 } }];
    const first = await log.append('s', batch, { expectedRevision: 'noStream' });
    fake.omitNextAppendPosition();
    const retry = await log.append('s', batch, { expectedRevision: 'noStream' });
    expect(retry).toEqual(first);
    expect(await log.readStream('s')).toHaveLength(1);
  });

  it('reads $all after a position, exclusively, without system events', async () => {
    const fake = createFakeEventStoreDb({ systemEventEvery: 1 });
    const log = eventStoreDbLogOver(fake.client);
    const positions: bigint[] = [];
    for (let i = 0; i < 5; i++) positions.push((await log.append(`s-${i % 2}`, [{ type: 'T', data: i }])).position);
    const all = await collect(log.readAll());
    expect(all.map((e) => e.data)).toEqual([0, 1, 2, 3, 4]);
    expect(all.map((e) => e.position)).toEqual(positions);
    expect((await collect(log.readAll(positions[2]))).map((e) => e.data)).toEqual([3, 4]);
    expect(await collect(log.readAll(positions[4]))).toEqual([]);
  });

  it('cancels the read when a consumer stops iterating early', async () => {
    const log = eventStoreDbLogOver(createFakeEventStoreDb().client);
    for (let i = 0; i < 3; i++) await log.append('s', [{ type: 'T', data: i }]);
    for await (const event of log.readAll()) {
      expect(event.data).toBe(0);
      break;
    }
    expect((await collect(log.readAll())).length).toBe(3);
  });

  it('subscribes after a stored position (exclusive even though the server starts inclusively), then live', async () => {
    const fake = createFakeEventStoreDb({ systemEventEvery: 2 });
    const log = eventStoreDbLogOver(fake.client);
    const stored = (await log.append('s', [{ type: 'T', data: 0 }, { type: 'T', data: 1 }])).position;
    const received = firstValueFrom(log.subscribe(stored).pipe(take(3), toArray()));
    for (let i = 2; i < 5; i++) await log.append('s', [{ type: 'T', data: i }]);
    expect((await received).map((e) => e.data)).toEqual([2, 3, 4]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.liveSubscriptionCount()).toBe(0);
  });

  it('tears the server subscription down on unsubscribe', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client);
    const seen: unknown[] = [];
    const subscription = log.subscribe().subscribe((event) => seen.push(event.data));
    await log.append('s', [{ type: 'T', data: 'a' }]);
    await vi.waitFor(() => expect(seen).toEqual(['a']));
    expect(fake.liveSubscriptionCount()).toBe(1);
    subscription.unsubscribe();
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.liveSubscriptionCount()).toBe(0);
    await log.append('s', [{ type: 'T', data: 'b' }]);
    expect(seen).toEqual(['a']);
  });

  it('passes a non-transient subscription failure to the subscriber at once', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client);
    const outcome = firstValueFrom(log.subscribe()).catch((error: unknown) => error);
    const denied = new AccessDeniedError(undefined, 'access denied');
    fake.dropSubscriptions(denied);
    expect(await outcome).toBe(denied);
    expect(fake.subscriptionsOpened()).toBe(1);
  });

  it('resubscribes after a dropped connection and resumes after the last delivered event, with no gap or duplicate', async () => {
    const fake = createFakeEventStoreDb({ systemEventEvery: 2 });
    const log = eventStoreDbLogOver(fake.client, { resubscribeDelayMs: 1 });
    const seen: unknown[] = [];
    const errors: unknown[] = [];
    const subscription = log.subscribe().subscribe({ next: (event) => seen.push(event.data), error: (error: unknown) => errors.push(error) });
    await log.append('s', [{ type: 'T', data: 0 }, { type: 'T', data: 1 }]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1]));
    fake.dropSubscriptions(new UnavailableError(undefined, 'leader lost'));
    await log.append('s', [{ type: 'T', data: 2 }]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1, 2]));
    await log.append('s', [{ type: 'T', data: 3 }]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1, 2, 3]));
    expect(errors).toEqual([]);
    expect(fake.subscriptionsOpened()).toBe(2);
    subscription.unsubscribe();
  });

  it('gives up after the configured number of failed resubscriptions in a row', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { resubscribeAttempts: 3, resubscribeDelayMs: 1 });
    const unavailable = new UnavailableError(undefined, 'no node answers');
    fake.failNewSubscriptions(unavailable);
    expect(await firstValueFrom(log.subscribe()).catch((error: unknown) => error)).toBe(unavailable);
    expect(fake.subscriptionsOpened()).toBe(4);
  });

  it('keeps tenants apart with a stream prefix', async () => {
    const fake = createFakeEventStoreDb();
    const g1 = eventStoreDbLogOver(fake.client, { streamPrefix: 'g1/' });
    const g2 = eventStoreDbLogOver(fake.client, { streamPrefix: 'g2/' });
    await g1.append('federation', [{ type: 'FederationConfigured', data: 1 }]);
    await g2.append('federation', [{ type: 'FederationConfigured', data: 2 }]);
    expect((await g1.readStream('federation')).map((e) => [e.stream, e.data])).toEqual([['federation', 1]]);
    expect((await collect(g2.readAll())).map((e) => e.data)).toEqual([2]);
    const live = firstValueFrom(g1.subscribe().pipe(take(2), toArray()));
    await g2.append('federation', [{ type: 'FederationConfigured', data: 3 }]);
    await g1.append('federation', [{ type: 'FederationConfigured', data: 4 }]);
    expect((await live).map((e) => e.data)).toEqual([1, 4]);
  });

  it('completes live subscriptions, disposes the client and refuses use after close', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client);
    const completed = new Promise<boolean>((resolve) => log.subscribe().subscribe({ complete: () => resolve(true) }));
    await log.close();
    expect(await completed).toBe(true);
    expect(fake.disposed()).toBe(true);
    await expect(log.append('s', [{ type: 'T', data: 1 }])).rejects.toBeInstanceOf(EventLogClosedError);
    await expect(log.readStream('s')).rejects.toBeInstanceOf(EventLogClosedError);
    await expect(collect(log.readAll())).rejects.toBeInstanceOf(EventLogClosedError);
    await expect(firstValueFrom(log.subscribe())).rejects.toBeInstanceOf(EventLogClosedError);
    await log.close();
  });
});

describeTruncateStreamContract('eventstoredb (emulated server)', async () => eventStoreDbLogOver(shared.client, { streamPrefix: `truncate-${tenants++}/` }), { local: false });

describe('EventStoreDB truncateStream', () => {
  it("keeps a stream's newest events through $tb, revisions unchanged, an event appended later too, and writes metadata only when there is more to remove", async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { streamPrefix: 'g0/' });
    const ns = async () => (await log.readStream('checkpoint-audit')).map((e) => [e.revision, (e.data as { n: number }).n]);
    await log.append('checkpoint-audit', [0, 1, 2, 3].map((n) => ({ type: 'SnapshotTaken', data: { n } })));
    await log.truncateStream!('checkpoint-audit', 2);
    expect(await ns()).toEqual([
      [2, 2],
      [3, 3],
    ]);
    // The next append hides nothing (a $maxCount would hide revision 2 now).
    const next = await log.append('checkpoint-audit', [{ type: 'SnapshotTaken', data: { n: 4 } }], { expectedRevision: 3 });
    expect(next.nextExpectedRevision).toBe(4);
    expect((await ns()).map(([revision]) => revision)).toEqual([2, 3, 4]);
    await log.truncateStream!('checkpoint-audit', 2);
    expect((await log.readStream('checkpoint-audit', { direction: 'backwards' })).map((e) => e.revision)).toEqual([4, 3]);
    expect(fake.metadataWrites()).toBe(2);
    await log.truncateStream!('checkpoint-audit', 2);
    await log.truncateStream!('checkpoint-audit', 5);
    await log.truncateStream!('never-written', 1);
    expect(fake.metadataWrites()).toBe(2);
    await expect(log.truncateStream!('checkpoint-audit', 0)).rejects.toThrow(RangeError);
    await log.close();
    await expect(log.truncateStream!('checkpoint-audit', 1)).rejects.toBeInstanceOf(EventLogClosedError);
  });
});

describe('EventStoreDB adapter with the real client and no server', () => {
  it('refuses a malformed connection string at once', () => {
    expect(() => createEventStoreDbLog('http://node1:2113')).toThrow(/esdb:\/\//);
  });

  it('rejects reads, appends and (after its retries) subscriptions when nothing listens, instead of hanging', async () => {
    // Port 1 on loopback: connection refused at once, so this costs milliseconds.
    const log = createEventStoreDbLog('esdb://127.0.0.1:1?tls=false', { resubscribeAttempts: 1, resubscribeDelayMs: 10, retry: { firstDelayMs: 10, giveUpAfterMs: 50 } });
    // Transient (UNAVAILABLE), so retried until the policy gives up, then reported with its cause.
    await expect(log.readStream('federation')).rejects.toThrow(/still failing after \d+ attempts.*UNAVAILABLE/);
    await expect(log.append('federation', [{ type: 'T', data: 1 }])).rejects.toMatchObject({ name: 'EventStoreDbUnavailableError', message: expect.stringMatching(/UNAVAILABLE/) });
    await expect(firstValueFrom(log.subscribe())).rejects.toThrow(/UNAVAILABLE/);
    await log.close();
  });
});
