import Database from 'better-sqlite3';
import { decideAppend } from './appendDecision.ts';
import { catchUpSubscription, createAppendNotifier } from './catchUpSubscription.ts';
import { EventLogClosedError, ExpectedRevisionConflict } from './errors.ts';
import { START, type AppendResult, type EventLog, type ExpectedRevision, type Position, type ReadStreamOptions, type RecordedEvent } from './eventLog.ts';
import { readAllInPages } from './pagedRead.ts';
import { decodeEvent, encodeEvents, type StoredEvent } from './storedEvent.ts';

/**
 * The embedded adapter: one SQLite file per guardian, WAL with synchronous=FULL, so a commit
 * returns only once the WAL is fsynced. The global position is the rowid (INTEGER PRIMARY KEY):
 * assigned in commit order by the single writer and never reused, so positions are totally
 * ordered and stay comparable across restarts.
 *
 * Group commit: better-sqlite3 is synchronous, so appends are queued and flushed together on the
 * next turn of the event loop (setImmediate), in one transaction. Every append's revision check
 * runs inside that shared transaction against what the earlier appends of the batch wrote, so a
 * conflict fails only its own append; every promise resolves only after the commit returned.
 */

interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  events: StoredEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

/** Rows are read as arrays (`.raw()`): building an object per row costs more than decoding it. */
type EventRow = [position: number, stream: string, revision: number, id: string, type: string, data: string, metadata: string];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    stream   TEXT NOT NULL,
    revision INTEGER NOT NULL,
    id       TEXT NOT NULL,
    type     TEXT NOT NULL,
    data     TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (stream, revision)
  ) STRICT;
`;

/** Pragmas and table of the durable log; the benchmark's raw baseline uses exactly these. */
export function prepareEventsDatabase(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so a resolved append survives power loss.
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.exec(SCHEMA);
}

/** Opens (creating if needed) the log at `path`; `:memory:` gives a private, non-durable log. */
export function createSqliteEventLog(path: string): EventLog {
  const db = new Database(path);
  prepareEventsDatabase(db);

  const lastRevisionOf = db.prepare<[string], { revision: number | null }>('SELECT MAX(revision) AS revision FROM events WHERE stream = ?');
  const eventAt = db.prepare<[string, number], { id: string; position: number }>('SELECT id, position FROM events WHERE stream = ? AND revision = ?');
  const insert = db.prepare<[string, number, string, string, string, string]>('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  const pageAfter = db.prepare<[number, number], EventRow>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?').raw(true);
  const streamForwards = db.prepare<[string, number, number], EventRow>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?').raw(true);
  const streamBackwards = db.prepare<[string, number, number], EventRow>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?').raw(true);

  const notifier = createAppendNotifier();
  let queue: PendingAppend[] = [];
  let flushScheduled = false;
  let closed = false;

  const decode = (row: EventRow): RecordedEvent => decodeEvent(BigInt(row[0]), row[1], row[2], row[3], row[4], row[5], row[6]);
  const assertOpen = () => {
    if (closed) throw new EventLogClosedError();
  };

  /** Applies one append inside the shared transaction; a conflict writes nothing for it. */
  const applyOne = (append: PendingAppend): Outcome => {
    const current = lastRevisionOf.get(append.stream)?.revision ?? -1;
    const decision = decideAppend(
      append.expected,
      current,
      append.events.map((e) => e.givenId),
      (revision) => {
        const row = eventAt.get(append.stream, revision);
        return row === undefined ? undefined : { id: row.id, position: BigInt(row.position) };
      },
    );
    if (decision.kind === 'conflict') return { ok: false, error: new ExpectedRevisionConflict(append.stream, append.expected, decision.actual) };
    if (decision.kind === 'retry') return { ok: true, result: { nextExpectedRevision: decision.lastRevision, position: decision.position } };
    if (append.events.length === 0) {
      const last = current < 0 ? undefined : eventAt.get(append.stream, current);
      return { ok: true, result: { nextExpectedRevision: current, position: last === undefined ? START : BigInt(last.position) } };
    }
    let revision = current;
    let position = 0;
    for (const event of append.events) {
      revision += 1;
      position = Number(insert.run(append.stream, revision, event.id, event.type, event.data, event.metadata).lastInsertRowid);
    }
    return { ok: true, result: { nextExpectedRevision: revision, position: BigInt(position) } };
  };

  const commitBatch = db.transaction((batch: PendingAppend[]) => batch.map(applyOne));

  const flush = () => {
    flushScheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = commitBatch(batch);
    } catch (error) {
      // The transaction rolled back (disk full, I/O error): nothing of the batch is on disk.
      for (const append of batch) append.reject(error);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const append = batch[i]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
    notifier.appended();
  };

  const readPage = (after: Position, limit: number): RecordedEvent[] => {
    assertOpen();
    return pageAfter.all(Number(after), limit).map(decode);
  };

  return {
    append(stream, events, options = {}) {
      try {
        assertOpen();
        const stored = encodeEvents(stream, events);
        return new Promise<AppendResult>((resolve, reject) => {
          queue.push({ stream, expected: options.expectedRevision ?? 'any', events: stored, resolve, reject });
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediate(flush);
          }
        });
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },

    async readStream(stream, options: ReadStreamOptions = {}) {
      assertOpen();
      const limit = options.maxCount ?? -1;
      const rows =
        (options.direction ?? 'forwards') === 'forwards'
          ? streamForwards.all(stream, Math.max(0, options.fromRevision ?? 0), limit)
          : streamBackwards.all(stream, options.fromRevision ?? Number.MAX_SAFE_INTEGER, limit);
      return rows.map(decode);
    },

    readAll(fromPosition = START) {
      return readAllInPages(readPage, fromPosition, 4096);
    },

    subscribe(fromPosition = START) {
      return catchUpSubscription(readPage, notifier, fromPosition);
    },

    async close() {
      if (closed) return;
      // Appends already accepted are committed before the file closes.
      flush();
      closed = true;
      notifier.closed();
      db.close();
    },
  };
}
