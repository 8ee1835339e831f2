import { firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { ExpectedRevisionConflict } from '../../src/streams/errors.ts';
import { deterministicEventId } from '../../src/streams/eventIds.ts';
import { eventStoreDbLogOver, type EventStoreDbLogOptions } from '../../src/streams/eventStoreDb.ts';
import { backoffDelay, DEFAULT_RETRY_POLICY, EventStoreDbUnavailableError } from '../../src/streams/eventStoreDbRetry.ts';
import { SubscriptionEndedByServer } from '../../src/streams/eventStoreDbSubscription.ts';
import { commitTimeout, deadlineExceeded, notLeader, streamDeleted, unavailable } from './eventStoreDbClusterErrors.ts';
import { createFakeEventStoreDb } from './eventStoreDbFakeClient.ts';

/**
 * What a three-node cluster does to a writer and a reader, scripted against the emulated server
 * with the client's real error classes (eventStoreDbClusterErrors.ts): elections, restarts,
 * deadlines that pass after the write committed, subscriptions the server ends.
 */

/** Records the waits instead of waiting, so a scripted election costs no wall time. */
function recordedRetries(options: EventStoreDbLogOptions = {}) {
  const waits: number[] = [];
  const retries: string[] = [];
  return {
    waits,
    retries,
    options: {
      ...options,
      sleep: async (ms: number) => void waits.push(ms),
      onRetry: (what: string, attempt: number, _delay: number, error: unknown) => retries.push(`${what} #${attempt}: ${(error as Error).constructor.name}`),
    } satisfies EventStoreDbLogOptions,
  };
}

const event = (data: unknown) => ({ type: 'ItemAccepted', data });

describe('appends during a leader election, a restart and slow commits', () => {
  it('retries NotLeader, Unavailable and the commit timeout with growing waits, and writes once', async () => {
    const fake = createFakeEventStoreDb();
    const { waits, retries, options } = recordedRetries();
    const log = eventStoreDbLogOver(fake.client, options);
    fake.scriptAppends([{ before: notLeader() }, { before: unavailable() }, { before: commitTimeout() }]);
    const result = await log.append('session-0', [event({ i: 0 }), event({ i: 1 })], { expectedRevision: 'noStream' });
    expect(result.nextExpectedRevision).toBe(1);
    expect(fake.appendCalls()).toBe(4);
    expect(waits).toEqual([100, 200, 400]);
    expect(retries).toEqual(['append to session-0 #1: NotLeaderError', 'append to session-0 #2: UnavailableError', 'append to session-0 #3: TimeoutError']);
    expect((await log.readStream('session-0')).map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }]);
  });

  it('treats a deadline that passed after the write committed as done: the retry is a no-op with the original result', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, recordedRetries().options);
    await log.append('session-0', [event({ i: 0 })], { expectedRevision: 'noStream' });
    fake.scriptAppends([{ after: deadlineExceeded() }]);
    const result = await log.append('session-0', [event({ i: 1 }), event({ i: 2 })], { expectedRevision: 0 });
    const stored = await log.readStream('session-0');
    expect(stored.map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(result).toEqual({ nextExpectedRevision: 2, position: stored[2]!.position });
    expect(fake.appendCalls()).toBe(3);
  });

  it('recognises the same events written again after a restart at the same revision, and refuses different ones there', async () => {
    const fake = createFakeEventStoreDb();
    const before = eventStoreDbLogOver(fake.client, { streamPrefix: 'g0/' });
    const first = await before.append('session-4', [event({ i: 0 }), event({ i: 1 })], { expectedRevision: 'noStream' });
    // A new process over the same cluster, which never learned that its write had committed.
    const after = eventStoreDbLogOver(fake.client, { streamPrefix: 'g0/' });
    expect(await after.append('session-4', [event({ i: 0 }), event({ i: 1 })], { expectedRevision: 'noStream' })).toEqual(first);
    expect(await after.readStream('session-4')).toHaveLength(2);
    await expect(after.append('session-4', [event({ i: 9 })], { expectedRevision: 'noStream' })).rejects.toBeInstanceOf(ExpectedRevisionConflict);
  });

  it('fails at once on a non-transient error (a deleted stream): no retry', async () => {
    const fake = createFakeEventStoreDb();
    const { waits, options } = recordedRetries();
    const log = eventStoreDbLogOver(fake.client, options);
    const deleted = streamDeleted();
    fake.scriptAppends([{ before: deleted }]);
    await expect(log.append('session-0', [event({ i: 0 })])).rejects.toBe(deleted);
    expect(fake.appendCalls()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('gives up once the policy is spent, naming the attempts and the last cause', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { retry: { firstDelayMs: 2, maxDelayMs: 4, giveUpAfterMs: 40 } });
    fake.scriptAppends(Array.from({ length: 1000 }, () => ({ before: unavailable() })));
    const failure = await log.append('session-0', [event({ i: 0 })]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EventStoreDbUnavailableError);
    const { attempts, cause, message } = failure as EventStoreDbUnavailableError;
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBe(fake.appendCalls());
    expect(cause).toMatchObject({ code: 14 });
    expect(message).toMatch(/append to session-0: EventStoreDB still failing after \d+ attempts over .* s: 14 UNAVAILABLE/);
    expect(await log.readStream('session-0')).toEqual([]);
  });

  it('retries reads through an election too', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, recordedRetries().options);
    await log.append('federation', [event({ n: 4 })]);
    fake.scriptReads([unavailable(), notLeader()]);
    expect((await log.readStream('federation')).map((e) => e.data)).toEqual([{ n: 4 }]);
  });

  it('doubles the wait up to its cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 40].map((failures) => backoffDelay(DEFAULT_RETRY_POLICY, failures))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });
});

describe('a subscription the server ends', () => {
  it('is opened again after its last delivered event: no gap, no duplicate', async () => {
    const fake = createFakeEventStoreDb({ systemEventEvery: 2 });
    const log = eventStoreDbLogOver(fake.client, { resubscribeDelayMs: 1 });
    const seen: unknown[] = [];
    const errors: unknown[] = [];
    const subscription = log.subscribe().subscribe({ next: (e) => seen.push(e.data), error: (error: unknown) => errors.push(error) });
    await log.append('s', [event(0), event(1)]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1]));
    fake.endSubscriptions();
    await log.append('s', [event(2)]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1, 2]));
    fake.endSubscriptions();
    fake.dropSubscriptions(notLeader());
    await log.append('s', [event(3)]);
    await vi.waitFor(() => expect(seen).toEqual([0, 1, 2, 3]));
    expect(errors).toEqual([]);
    expect(fake.subscriptionsOpened()).toBe(3);
    subscription.unsubscribe();
  });

  it('fails loudly, not silently, when the server keeps ending it', async () => {
    const fake = createFakeEventStoreDb();
    const log = eventStoreDbLogOver(fake.client, { resubscribeAttempts: 2, resubscribeDelayMs: 1 });
    const outcome = firstValueFrom(log.subscribe()).catch((error: unknown) => error);
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(fake.subscriptionsOpened()).toBe(i + 1));
      await vi.waitFor(() => expect(fake.liveSubscriptionCount()).toBe(1));
      fake.endSubscriptions();
    }
    expect(await outcome).toBeInstanceOf(SubscriptionEndedByServer);
  });
});

describe('deterministic event ids', () => {
  it('are UUID v5, the same for the same event at the same place and different anywhere else', () => {
    const id = deterministicEventId('g0/session-1', 3, 'ItemAccepted', { b: 1, a: [2] });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Canonical JSON: key order does not change the content.
    expect(deterministicEventId('g0/session-1', 3, 'ItemAccepted', { a: [2], b: 1 })).toBe(id);
    const others = [
      deterministicEventId('g1/session-1', 3, 'ItemAccepted', { b: 1, a: [2] }),
      deterministicEventId('g0/session-1', 4, 'ItemAccepted', { b: 1, a: [2] }),
      deterministicEventId('g0/session-1', 3, 'ItemRejected', { b: 1, a: [2] }),
      deterministicEventId('g0/session-1', 3, 'ItemAccepted', { b: 2, a: [2] }),
    ];
    expect(new Set([id, ...others]).size).toBe(5);
  });
});
