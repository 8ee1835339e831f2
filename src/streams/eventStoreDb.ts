import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START as ESDB_START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  streamNameFilter,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendExpectedRevision,
  CurrentRevision,
  EventData,
  Filter,
  Position as EsdbPosition,
  ReadPosition,
  RecordedEvent as EsdbRecordedEvent,
  ResolvedEvent,
} from '@eventstore/db-client';
import { CorruptEventError, EventLogClosedError, ExpectedRevisionConflict, InvalidEventError } from './errors.ts';
import { deterministicEventId } from './eventIds.ts';
import { assertKeepNewest, START } from './eventLog.ts';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryHooks, type RetryPolicy } from './eventStoreDbRetry.ts';
import { followAll } from './eventStoreDbSubscription.ts';

// Moved beside the retry policy; still exported here for callers of the adapter.
export { isTransientError } from './eventStoreDbRetry.ts';
import type {
  AppendResult,
  EventLog,
  EventMetadata,
  EventToAppend,
  ExpectedRevision,
  Position,
  ReadStreamOptions,
  RecordedEvent,
} from './eventLog.ts';

/**
 * The EventStoreDB adapter of the EventLog port, for guardians whose log lives in an ESDB cluster.
 *
 * This is the ONLY file that imports `@eventstore/db-client`: moving to `@kurrent/kurrentdb-client`
 * (same API, renamed) means editing the imports of this one file.
 *
 * Mapping to the port:
 * - Position: ESDB's `$all` position is `{ commit, prepare }`. Every event written through gRPC appends is
 *   an implicitly committed prepare record, for which ESDB reports commit === prepare (its log byte
 *   offset), so the port's Position is the commit position and `{ commit: p, prepare: p }` rebuilds it.
 *   A position with commit !== prepare (legacy TCP transactions) cannot be represented and is reported
 *   as corrupt rather than silently merged. Positions are byte offsets: increasing, not consecutive.
 * - Exclusivity: ESDB reads `$all` from a position inclusively; readAll/subscribe drop every event at or
 *   before the given position on the client, so resuming after a stored Position never replays it.
 * - Revisions: ESDB revisions are 0-based bigints, the port's are 0-based numbers.
 * - Durability: ESDB acknowledges an append once it is fsynced on a quorum of the cluster.
 * - Idempotency: our event id is the ESDB event id; ESDB treats a retried append of the same ids as a no-op.
 *   Appends at an exact revision get ids derived from stream, revision and content (eventIds.ts), so
 *   even a write repeated after a restart is recognised; the ids are fixed before the first attempt.
 * - A cluster's routine failures (leader election, node restart, deadline) are retried with capped
 *   backoff (eventStoreDbRetry.ts); a dropped or ended subscription is reopened after its last event.
 * - System events (`$`-prefixed types or streams) are never returned. Appending one is refused, since it
 *   could never be read back.
 */

export interface EventStoreDbLogOptions {
  /**
   * Prefix of every stream this log owns, so that several guardians (or test runs) can share one cluster:
   * the port's stream `session-3` is ESDB's `${streamPrefix}session-3`, and reads see only prefixed streams.
   */
  streamPrefix?: string;
  /** Consecutive resubscriptions after a transient failure (e.g. a leader election) or a server-ended call before the subscriber sees the error. Default 8 (about 16 s in all). */
  resubscribeAttempts?: number;
  /** First resubscription delay, doubled on every consecutive failure up to the policy's cap. Default: the policy's first delay. */
  resubscribeDelayMs?: number;
  /** How appends and reads ride out elections and deadlines. Default DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy>;
  /** Told about every retry and resubscription (the guardian logs them). */
  onRetry?: RetryHooks['onRetry'];
  /** Injectable for tests. */
  sleep?: RetryHooks['sleep'];
}

/** The part of the client this adapter uses: narrow so the tests can drive the adapter without a server. */
export type EventStoreDbClientPort = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'setStreamMetadata' | 'dispose'
>;

/** Opens a log on an ESDB node or cluster, e.g. `esdb://node1:2113,node2:2113,node3:2113?tls=false`. */
export function createEventStoreDbLog(connectionString: string, options: EventStoreDbLogOptions = {}): EventLog {
  // Parses the connection string now (throws on a malformed one); the client connects lazily on first use.
  return eventStoreDbLogOver(EventStoreDBClient.connectionString(connectionString), options);
}

/** The adapter over any client with the ESDB client's API (the real one, or a test double). */
export function eventStoreDbLogOver(client: EventStoreDbClientPort, options: EventStoreDbLogOptions = {}): EventLog {
  const prefix = options.streamPrefix ?? '';
  const resubscribeAttempts = options.resubscribeAttempts ?? 8;
  const retryPolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const hooks: RetryHooks = { ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }), ...(options.sleep === undefined ? {} : { sleep: options.sleep }) };
  let closed = false;
  const liveSubscriptions = new Set<() => void>();
  /** The `$tb` this log last set per stream, so that a truncation with nothing new to remove writes nothing. */
  const truncatedBefore = new Map<string, number>();

  const ensureOpen = (): void => {
    if (closed) throw new EventLogClosedError();
  };

  // Server-side filter for subscriptions; the same rule is applied again on the client (isOwnEvent).
  const subscriptionFilter = (): Filter =>
    prefix === '' ? excludeSystemEvents() : streamNameFilter({ prefixes: [prefix] });

  const toOwnEvent = (resolved: ResolvedEvent | AllStreamResolvedEvent, after: Position): RecordedEvent | undefined => {
    const event = resolved.event;
    if (event === undefined || !isOwnEvent(event, prefix)) return undefined;
    const recorded = toRecordedEvent(event, prefix, resolved.commitPosition);
    return recorded.position > after ? recorded : undefined;
  };

  async function lastEventOf(esdbStream: string): Promise<RecordedEvent | undefined> {
    const [last] = await readEsdbStream(esdbStream, { direction: 'backwards', maxCount: 1 });
    return last;
  }

  async function readEsdbStream(esdbStream: string, readOptions: ReadStreamOptions): Promise<RecordedEvent[]> {
    if (readOptions.maxCount === 0) return [];
    return withRetries(`read ${esdbStream}`, retryPolicy, () => readOnce(esdbStream, readOptions), hooks);
  }

  async function readOnce(esdbStream: string, readOptions: ReadStreamOptions): Promise<RecordedEvent[]> {
    const backwards = readOptions.direction === 'backwards';
    const read = client.readStream(esdbStream, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision:
        readOptions.fromRevision === undefined ? (backwards ? END : ESDB_START) : BigInt(readOptions.fromRevision),
      ...(readOptions.maxCount === undefined ? {} : { maxCount: readOptions.maxCount }),
    });
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of read) {
        const event = toOwnEvent(resolved, -1n);
        if (event !== undefined) events.push(event);
      }
    } catch (error) {
      // The port reads an unknown stream as empty.
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  return {
    async append(stream, events, appendOptions = {}): Promise<AppendResult> {
      ensureOpen();
      const expected = appendOptions.expectedRevision ?? 'any';
      const esdbStream = prefix + stream;
      // Ids are fixed here, once: every attempt below sends the same events.
      const firstRevision = typeof expected === 'number' ? expected + 1 : expected === 'noStream' ? 0 : undefined;
      const proposed = events.map((event, i) => toEventData(stream, event, prefix, firstRevision === undefined ? undefined : firstRevision + i));
      if (proposed.length === 0) return appendNothing(stream, expected, await lastEventOf(esdbStream));
      let result;
      try {
        result = await withRetries(
          `append to ${esdbStream}`,
          retryPolicy,
          () => client.appendToStream(esdbStream, proposed, { expectedRevision: toEsdbExpectedRevision(expected) }),
          hooks,
        );
      } catch (error) {
        throw toLogError(error, stream, expected, events);
      }
      const nextExpectedRevision = toRevision(result.nextExpectedRevision);
      // One event: the answer's position is that event's (commit === prepare either way). A batch may be
      // answered with its transaction's span ({ commit: last, prepare: first }) and an idempotent retry
      // with no position at all, so then the last event is read back for its exact position.
      if (proposed.length === 1 && result.position !== undefined) {
        return { nextExpectedRevision, position: result.position.commit };
      }
      const [last] = await readEsdbStream(esdbStream, { fromRevision: nextExpectedRevision, maxCount: 1 });
      if (last === undefined) throw new Error(`stream ${stream}: appended revision ${nextExpectedRevision} cannot be read back`);
      return { nextExpectedRevision, position: last.position };
    },

    // `$tb` (truncate before) hides the older events from stream reads at once, and the server reclaims
    // them at its next scavenge. Not `$maxCount`: it would hide the oldest kept event as soon as the next
    // is appended, where the port removes only what is there when asked.
    async truncateStream(stream, keepNewest): Promise<void> {
      ensureOpen();
      assertKeepNewest(keepNewest);
      const esdbStream = prefix + stream;
      const last = await lastEventOf(esdbStream);
      const before = last === undefined ? 0 : last.revision - keepNewest + 1;
      if (before <= (truncatedBefore.get(esdbStream) ?? 0)) return;
      await withRetries(`set $tb of ${esdbStream}`, retryPolicy, () => client.setStreamMetadata(esdbStream, { truncateBefore: before }), hooks);
      truncatedBefore.set(esdbStream, before);
    },

    async readStream(stream, readOptions = {}): Promise<RecordedEvent[]> {
      ensureOpen();
      return readEsdbStream(prefix + stream, readOptions);
    },

    async *readAll(fromPosition = START): AsyncIterable<RecordedEvent> {
      ensureOpen();
      const read = client.readAll({ fromPosition: toEsdbReadPosition(fromPosition), direction: FORWARDS });
      try {
        for await (const resolved of read) {
          const event = toOwnEvent(resolved, fromPosition);
          if (event !== undefined) yield event;
        }
      } finally {
        // A consumer that stops early must not leave the gRPC call streaming into a destroyed reader.
        if (!read.readableEnded) await read.cancel();
      }
    },

    subscribe(fromPosition = START): Observable<RecordedEvent> {
      return followAll({
        client,
        from: fromPosition,
        filter: subscriptionFilter,
        toOwnEvent,
        policy: { ...retryPolicy, firstDelayMs: options.resubscribeDelayMs ?? retryPolicy.firstDelayMs },
        attempts: resubscribeAttempts,
        isClosed: () => closed,
        track(end) {
          liveSubscriptions.add(end);
          return () => liveSubscriptions.delete(end);
        },
        toReadPosition: toEsdbReadPosition,
        onResubscribe: (attempt, delayMs, reason) => options.onRetry?.('subscribe $all', attempt, delayMs, reason),
      });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const end of [...liveSubscriptions]) end();
      await client.dispose();
    },
  };
}

/** An empty append writes nothing but still honours the expected revision, as every adapter does. */
function appendNothing(stream: string, expected: ExpectedRevision, last: RecordedEvent | undefined): AppendResult {
  const actual = last === undefined ? 'noStream' : last.revision;
  const matches =
    expected === 'any' ||
    (expected === 'noStream' && actual === 'noStream') ||
    (expected === 'streamExists' && actual !== 'noStream') ||
    expected === actual;
  if (!matches) throw new ExpectedRevisionConflict(stream, expected, actual);
  return { nextExpectedRevision: last?.revision ?? -1, position: last?.position ?? START };
}

// ---- pure mappers between the port and the client (exported for the unit tests) ----

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'noStream':
      return NO_STREAM;
    case 'streamExists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expected revision must be a non-negative integer, got ${expected}`);
      }
      return BigInt(expected);
  }
}

/** ESDB's current revision of a stream, as the port reports it. */
export function fromEsdbCurrentRevision(current: CurrentRevision): number | 'noStream' {
  return current === NO_STREAM ? 'noStream' : toRevision(current);
}

export function toRevision(revision: bigint): number {
  const value = Number(revision);
  if (!Number.isSafeInteger(value)) throw new RangeError(`revision ${revision} does not fit a safe integer`);
  return value;
}

export function toLogPosition(position: EsdbPosition): Position {
  if (position.commit !== position.prepare) {
    throw new CorruptEventError(
      position.commit,
      `position {commit ${position.commit}, prepare ${position.prepare}} belongs to a multi-event transaction, which fedlog never writes`,
    );
  }
  return position.commit;
}

/** Where ESDB should start reading `$all` to see everything after `position` (the read itself is inclusive). */
export function toEsdbReadPosition(position: Position): ReadPosition {
  if (position < 0n) throw new RangeError(`position must be >= 0, got ${position}`);
  return position === START ? ESDB_START : { commit: position, prepare: position };
}

/** System events ($-prefixed type or stream) and, with a prefix, other tenants' streams are not ours. */
export function isOwnEvent(event: Pick<EsdbRecordedEvent, 'streamId' | 'type'>, prefix = ''): boolean {
  if (event.type.startsWith('$') || event.streamId.startsWith('$')) return false;
  return event.streamId.startsWith(prefix);
}

/** `revision`: where the event lands, when the append names it; its id is then derived from it (eventIds.ts). */
export function toEventData(stream: string, event: EventToAppend, prefix = '', revision?: number): EventData {
  if (event.type.startsWith('$') || (prefix === '' && stream.startsWith('$'))) {
    throw new InvalidEventError(stream, event.type, 'names starting with $ are reserved for EventStoreDB system events');
  }
  // Checked here, as the local adapters do, so a value JSON cannot carry (a bigint, undefined) is refused before the call.
  if (JSON.stringify(event.data) === undefined) throw new TypeError(`append to ${stream}: event ${event.type} has no JSON data`);
  return {
    id: event.id ?? (revision === undefined ? randomUUID() : deterministicEventId(prefix + stream, revision, event.type, event.data)),
    contentType: 'application/json',
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata },
  } as EventData;
}

export function toRecordedEvent(event: EsdbRecordedEvent, prefix = '', commitPosition?: bigint): RecordedEvent {
  const position =
    event.position !== undefined ? toLogPosition(event.position) : commitPosition !== undefined ? commitPosition : undefined;
  if (position === undefined) {
    throw new CorruptEventError(-1n, `event ${event.id} in ${event.streamId} came without a position (server older than 22.6?)`);
  }
  if (!event.isJson) throw new CorruptEventError(position, `event ${event.id} is not JSON`);
  return {
    id: event.id,
    stream: event.streamId.slice(prefix.length),
    revision: toRevision(event.revision),
    position,
    type: event.type,
    data: event.data,
    metadata: toEventMetadata(event.metadata, position),
  };
}

/** Raw adapters return metadata as stored (an absent one as {}); withEventSchemas is what makes it complete. */
export function toEventMetadata(stored: unknown, position: Position): EventMetadata {
  if (stored === undefined) return {} as EventMetadata;
  if (stored instanceof Uint8Array) throw new CorruptEventError(position, 'metadata is not JSON');
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) {
    throw new CorruptEventError(position, 'metadata is not a JSON object');
  }
  return stored as EventMetadata;
}

/** The client's errors in the port's terms; anything without a counterpart passes through unchanged. */
export function toLogError(
  error: unknown,
  stream: string,
  expected: ExpectedRevision,
  events: readonly EventToAppend[] = [],
): unknown {
  if (error instanceof WrongExpectedVersionError) {
    return new ExpectedRevisionConflict(stream, expected, fromEsdbCurrentRevision(error.actualVersion));
  }
  if (error instanceof MaxAppendSizeExceededError) {
    const type = events[0]?.type ?? '(none)';
    return new InvalidEventError(stream, type, `append exceeds EventStoreDB's maximum append size (${error.maxAppendSize} bytes)`);
  }
  return error;
}
