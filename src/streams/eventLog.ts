import type { Observable } from 'rxjs';

/**
 * The append-only log port (DESIGN.md, "The event log"). Every adapter (sqlite, memory,
 * eventstoredb) implements exactly these semantics and passes the one contract suite.
 */

/** A global position: totally ordered across all streams and comparable across restarts. 0n is "before the first event". */
export type Position = bigint;
export const START: Position = 0n;

/** Revisions are 0-based per stream: the first event of a stream has revision 0. */
export type ExpectedRevision = 'any' | 'noStream' | 'streamExists' | number;

export interface EventMetadata {
  schemaVersion: number;
  guardian: number;
  recordedAt: string;
}

export interface EventToAppend {
  /**
   * A UUID (generated when absent). Ids make a retried append idempotent: a batch of k events is a
   * retry when the events it would re-create are already there with the same ids in order (with an
   * exact revision E, or noStream as E = -1: revisions E+1..E+k; with 'any' or 'streamExists': the
   * stream's last k events). A retry writes nothing and returns the original AppendResult.
   */
  id?: string;
  type: string;
  data: unknown;
  metadata?: Partial<EventMetadata>;
}

export interface RecordedEvent {
  id: string;
  stream: string;
  revision: number;
  position: Position;
  type: string;
  data: unknown;
  /** As stored. Raw adapters store what the appender gave; the schema decorator (withEventSchemas) guarantees every field. */
  metadata: EventMetadata;
}

/** A recorded event with its data as the stored JSON text, neither parsed nor schema-checked (see EventLog.readStreamText). */
export type RecordedEventText = Omit<RecordedEvent, 'data'> & { data: string };

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: number;
  /** Global position of the last event appended. */
  position: Position;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive; defaults to the first (forwards) or last (backwards) revision. */
  fromRevision?: number;
  maxCount?: number;
}

export interface EventLog {
  /** Resolves only once the events are durable (fsync). Raises ExpectedRevisionConflict on a revision mismatch. */
  append(stream: string, events: readonly EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult>;
  /** Events of one stream; an unknown stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Optional: readStream's events with `data` left as the JSON text the adapter stores, neither
   * parsed nor checked against its schema (metadata is decoded as readStream decodes it), for
   * readers that hash or pick at large events (snapshot states run to megabytes) without building
   * them. The caller validates whatever it relies on; an adapter that stores no text has none.
   */
  readStreamText?(stream: string, options?: ReadStreamOptions): Promise<RecordedEventText[]>;
  /** Every event with position strictly greater than `fromPosition`, in global order. */
  readAll(fromPosition?: Position): AsyncIterable<RecordedEvent>;
  /**
   * Optional: exactly the events of readAll, a page at a time, for readers that fold whole pages
   * (one await per page instead of one per event). Every page is a fresh non-empty array of at
   * most `pageSize` events (default: the adapter's page size), the caller's to keep. A stored
   * event that cannot be read back ends the iteration with its error, after every event before it.
   */
  readAllPages?(fromPosition?: Position, pageSize?: number): AsyncIterable<RecordedEvent[]>;
  /**
   * Optional: removes every event of `stream`, for backups that are not history (DESIGN.md: `dag-<i>`
   * once session i's SessionCompleted is durable). Afterwards the stream reads as empty, readAll,
   * readAllPages and subscribe skip its events, and an append to it starts again at revision 0
   * (`noStream` holds). Positions are never given again: later events still get positions above
   * every earlier one, so readers' cursors and checkpoints stay valid. Ordered with appends: those
   * called before it are committed first. Deleting a stream without events does nothing; events a
   * live subscriber already received are not recalled.
   */
  deleteStream?(stream: string): Promise<void>;
  /**
   * Optional: removes every event of `stream` but the newest `keepNewest` (an integer >= 1), for
   * streams of which only the newest few matter (checkpoints: checkpointTiers.ts). The kept events
   * keep their revisions and positions and the next append continues after the last revision.
   * Removed events read as deleteStream's do: readStream, readAll, readAllPages and new
   * subscriptions skip them; ordered with appends as deleteStream is. (EventStoreDB: the stream's
   * `$tb` at its last revision when asked; its $all shows them until the server's scavenge.) A
   * stream with at most `keepNewest` events is untouched.
   */
  truncateStream?(stream: string, keepNewest: number): Promise<void>;
  /** Catch up from `fromPosition` (exclusive), then live; in order, no gap, no duplicate. Unsubscribing tears down. */
  subscribe(fromPosition?: Position): Observable<RecordedEvent>;
  close(): Promise<void>;
}

/** truncateStream's argument check, shared by the adapters: keeping nothing is deleteStream's job. */
export function assertKeepNewest(keepNewest: number): void {
  if (!Number.isSafeInteger(keepNewest) || keepNewest < 1) throw new RangeError(`truncateStream keeps at least the newest event, got keepNewest ${keepNewest}`);
}
