import { Readable } from 'node:stream';
import { StreamNotFoundError, WrongExpectedVersionError } from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendExpectedRevision,
  AppendResult,
  EventData,
  Filter,
  Position,
  ReadPosition,
  ReadRevision,
} from '@eventstore/db-client';
import type { EventStoreDbClientPort } from '../../src/streams/eventStoreDb.ts';

/**
 * An in-process stand-in for an EventStoreDB server behind the client's API, so that the adapter's
 * own logic (position and revision mapping, exclusivity, system-event filtering, teardown, error
 * mapping) runs in CI where no server does. It mimics what the server does, including the awkward
 * parts: positions are byte offsets (increasing, not consecutive) with commit === prepare, system
 * events ($stats...) are interleaved with ours, `$all` reads AND subscriptions start inclusively at
 * the given position (the adapter must not depend on the server's exclusivity), conflicts and unknown
 * streams raise the client's real error classes, built as the client builds them.
 * It is an emulation, not a server: the contract suite against a real cluster is the int spec.
 */

interface FakeRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  created: Date;
  position: Position;
}

export type ScriptedFailure = { before: Error } | { after: Error };

interface LiveSubscription {
  readable: Readable;
  filter: Filter | undefined;
}

export interface FakeEventStoreDb {
  client: EventStoreDbClientPort;
  /** Writes a system event, as the server does on its own (stats, epochs). */
  writeSystemEvent(): void;
  /** Fails every live subscription with this error, as a dropped connection would. */
  dropSubscriptions(error: Error): void;
  liveSubscriptionCount(): number;
  /** How many subscriptions have been opened so far. */
  subscriptionsOpened(): number;
  /** Makes every new subscription fail with this error right after it opens (undefined: stop failing). */
  failNewSubscriptions(error: Error | undefined): void;
  /** Makes the next successful append answer without a position (as some idempotent answers do). */
  omitNextAppendPosition(): void;
  /**
   * The next appends fail in this order, one step per call: `{ before }` refuses the call without
   * writing (a NotLeaderError during an election), `{ after }` writes it and then reports the error
   * (a deadline that passed while the write committed: the ambiguous case ids make safe).
   */
  scriptAppends(steps: ScriptedFailure[]): void;
  /** The next stream reads fail with these errors, one per call. */
  scriptReads(errors: Error[]): void;
  /** Ends every live subscription as the server does when it closes the call (no error). */
  endSubscriptions(): void;
  /** Append calls received, failed ones included. */
  appendCalls(): number;
  /** setStreamMetadata calls received. */
  metadataWrites(): number;
  disposed(): boolean;
}

export function createFakeEventStoreDb(options: { systemEventEvery?: number } = {}): FakeEventStoreDb {
  const log: FakeRecord[] = [];
  const streams = new Map<string, FakeRecord[]>();
  const live = new Set<LiveSubscription>();
  let nextOffset = 1_024n;
  let appends = 0;
  let metadataWrites = 0;
  let omitPosition = false;
  let isDisposed = false;
  let opened = 0;
  let failWith: Error | undefined;
  let appendScript: ScriptedFailure[] = [];
  let readScript: Error[] = [];
  let appendCallCount = 0;

  const record = (streamId: string, id: string, type: string, data: unknown, metadata: unknown): FakeRecord => {
    const events = streams.get(streamId) ?? [];
    streams.set(streamId, events);
    const wire = JSON.stringify(data);
    const stored: FakeRecord = {
      streamId,
      id,
      revision: BigInt(events.length),
      type,
      // The wire round trip: what comes back is a parsed copy, never the caller's object.
      data: JSON.parse(wire) as unknown,
      metadata: metadata === undefined ? undefined : (JSON.parse(JSON.stringify(metadata)) as unknown),
      created: new Date(),
      position: { commit: nextOffset, prepare: nextOffset },
    };
    nextOffset += BigInt(128 + wire.length);
    events.push(stored);
    log.push(stored);
    for (const subscription of live) {
      if (passes(subscription.filter, stored)) subscription.readable.push(resolved(stored));
    }
    return stored;
  };

  const writeSystemEvent = (): void => {
    record('$stats-127.0.0.1:2113', crypto.randomUUID(), '$statsCollected', { cpu: 1 }, undefined);
  };
  writeSystemEvent();
  record('$$federation', crypto.randomUUID(), '$metadata', { $maxAge: 1 }, undefined);

  const appendToStream = async (
    streamName: string,
    input: EventData | EventData[],
    appendOptions: { expectedRevision?: AppendExpectedRevision } = {},
  ): Promise<AppendResult> => {
    await Promise.resolve();
    appendCallCount += 1;
    const step = appendScript.shift();
    if (step !== undefined && 'before' in step) throw step.before;
    const answer = appendOnce(streamName, input, appendOptions);
    if (step !== undefined) throw step.after;
    return answer;
  };

  const appendOnce = (
    streamName: string,
    input: EventData | EventData[],
    appendOptions: { expectedRevision?: AppendExpectedRevision },
  ): AppendResult => {
    const events = Array.isArray(input) ? input : [input];
    const expected = appendOptions.expectedRevision ?? 'any';
    const existing = streams.get(streamName) ?? [];
    const current = existing.length === 0 ? ('no_stream' as const) : BigInt(existing.length - 1);
    // ESDB's idempotence: the same ids already written at the revisions this append targets.
    const first = events[0];
    const at = first === undefined ? -1 : existing.findIndex((e) => e.id === first.id);
    if (at >= 0 && events.every((event, i) => existing[at + i]?.id === event.id)) {
      const targetsThem =
        expected === 'any' || expected === 'stream_exists' || (expected === 'no_stream' ? at === 0 : BigInt(at) - 1n === expected);
      if (targetsThem) {
        const last = existing[at + events.length - 1]!;
        return { success: true, nextExpectedRevision: last.revision, position: last.position };
      }
    }
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && current === 'no_stream') ||
      (expected === 'stream_exists' && current !== 'no_stream') ||
      expected === current;
    if (!ok) throw new WrongExpectedVersionError(undefined, { streamName, expected, current });
    const written = events.map((event) => record(streamName, event.id, event.type, event.data, event.metadata));
    const last = written.at(-1);
    appends += 1;
    if (options.systemEventEvery !== undefined && appends % options.systemEventEvery === 0) writeSystemEvent();
    if (last === undefined) throw new Error('the fake does not take empty appends (the adapter never sends them)');
    // A batch is answered with its span, first prepare to last commit, as the server may do.
    const span = { commit: last.position.commit, prepare: written[0]!.position.prepare };
    const position = omitPosition ? undefined : span;
    omitPosition = false;
    return { success: true, nextExpectedRevision: last.revision, ...(position === undefined ? {} : { position }) };
  };

  const readStream = (
    streamName: string,
    readOptions: { direction?: string; fromRevision?: ReadRevision; maxCount?: number | bigint } = {},
  ) => {
    const scripted = readScript.shift();
    if (scripted !== undefined) return streamingRead([], scripted);
    const stored = streams.get(streamName);
    if (stored === undefined) return streamingRead([], new StreamNotFoundError(undefined, streamName));
    // The server hides the events before a stream's $tb from its reads at once.
    const events = stored.filter((e) => e.revision >= BigInt(truncatedBefore.get(streamName) ?? 0));
    const backwards = readOptions.direction === 'backwards';
    const max = Number(readOptions.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = readOptions.fromRevision ?? (backwards ? 'end' : 'start');
    const picked = backwards
      ? events.filter((e) => from === 'end' || (from !== 'start' && e.revision <= from)).reverse()
      : events.filter((e) => from === 'start' || (from !== 'end' && e.revision >= from));
    return streamingRead(picked.slice(0, max).map(resolved));
  };

  const readAll = (readOptions: { fromPosition?: ReadPosition } = {}) => {
    const from = readOptions.fromPosition ?? 'start';
    return streamingRead(log.filter((e) => atOrAfter(e.position, from)).map(resolved));
  };

  const subscribeToAll = (subscribeOptions: { fromPosition?: ReadPosition; filter?: Filter } = {}) => {
    const from = subscribeOptions.fromPosition ?? 'start';
    const subscription: LiveSubscription = { readable: new Readable({ objectMode: true, read() {} }), filter: subscribeOptions.filter };
    opened += 1;
    if (failWith !== undefined) {
      const error = failWith;
      setImmediate(() => subscription.readable.destroy(error));
    }
    for (const event of log) {
      if (atOrAfter(event.position, from) && passes(subscription.filter, event)) subscription.readable.push(resolved(event));
    }
    live.add(subscription);
    subscription.readable.on('close', () => live.delete(subscription));
    return Object.assign(subscription.readable, {
      unsubscribe: async () => {
        live.delete(subscription);
        subscription.readable.destroy();
      },
    });
  };

  const truncatedBefore = new Map<string, number>();
  const setStreamMetadata = async (streamName: string, metadata: { truncateBefore?: number }) => {
    metadataWrites += 1;
    if (metadata.truncateBefore !== undefined) truncatedBefore.set(streamName, metadata.truncateBefore);
    return { success: true, nextExpectedRevision: 0n };
  };

  const client = {
    appendToStream,
    setStreamMetadata,
    readStream,
    readAll,
    subscribeToAll,
    dispose: async () => {
      isDisposed = true;
    },
  } as unknown as EventStoreDbClientPort;

  return {
    client,
    writeSystemEvent,
    dropSubscriptions: (error) => {
      for (const subscription of [...live]) subscription.readable.destroy(error);
    },
    liveSubscriptionCount: () => live.size,
    subscriptionsOpened: () => opened,
    failNewSubscriptions: (error) => {
      failWith = error;
    },
    omitNextAppendPosition: () => {
      omitPosition = true;
    },
    disposed: () => isDisposed,
    metadataWrites: () => metadataWrites,
    scriptAppends: (steps) => {
      appendScript = [...steps];
    },
    scriptReads: (errors) => {
      readScript = [...errors];
    },
    endSubscriptions: () => {
      for (const subscription of [...live]) {
        // An ended call receives nothing more.
        live.delete(subscription);
        subscription.readable.push(null);
      }
    },
    appendCalls: () => appendCallCount,
  };
}

function resolved(event: FakeRecord): AllStreamResolvedEvent {
  return {
    event: { ...event, isJson: true } as unknown as AllStreamResolvedEvent['event'],
    commitPosition: event.position.commit,
  };
}

function atOrAfter(position: Position, from: ReadPosition): boolean {
  if (from === 'start') return true;
  if (from === 'end') return false;
  return position.commit > from.commit || (position.commit === from.commit && position.prepare >= from.prepare);
}

function passes(filter: Filter | undefined, event: FakeRecord): boolean {
  if (filter === undefined) return true;
  const subject = filter.filterOn === 'eventType' ? event.type : event.streamId;
  if ('regex' in filter) return new RegExp(filter.regex).test(subject);
  return filter.prefixes.some((prefix) => subject.startsWith(prefix));
}

function streamingRead<T>(items: T[], error?: Error): Readable & { cancel(): Promise<void> } {
  const readable = new Readable({
    objectMode: true,
    read() {
      const next = items.shift();
      if (next !== undefined) this.push(next);
      else if (error !== undefined) this.destroy(error);
      else this.push(null);
    },
  });
  return Object.assign(readable, { cancel: async () => void readable.destroy() });
}
