import Database from 'better-sqlite3';
import { catchUpSubscription, createAppendNotifier } from './catchUpSubscription.ts';
import { EventLogClosedError, ExpectedRevisionConflict } from './errors.ts';
import { assertKeepNewest, START, type AppendResult, type EventLog, type ExpectedRevision, type Position, type ReadStreamOptions, type RecordedEvent } from './eventLog.ts';
import { PAGE_SIZE, readAllInPages, readAllPagesInOrder } from './pagedRead.ts';
import { prepareCommit, type CommitOutcome } from './sqliteCommit.mjs';
import { SqliteWriteError, startSqliteWriter, type SqliteWriter } from './sqliteWriterThread.ts';
import { decodeEvent, decodeEventText, encodeEvents, type StoredEvent } from './storedEvent.ts';

/**
 * The embedded adapter: one SQLite file per guardian, WAL with synchronous=FULL, so a commit
 * returns only once the WAL is fsynced. The global position is the rowid (INTEGER PRIMARY KEY):
 * assigned in commit order by the single writer and never reused, so positions are totally
 * ordered and stay comparable across restarts.
 *
 * Group commit: appends are queued and flushed together on the next turn of the event loop
 * (setImmediate), in one transaction; while a commit is in flight, later appends queue up and
 * form the next one. Every append's revision check runs inside that shared transaction against
 * what the earlier appends of the batch wrote, so a conflict fails only its own append; every
 * promise resolves only after the commit returned.
 *
 * A log file is written by its own writer thread (sqliteWriterThread.ts, started at the first
 * append), so the fsync does not block the event loop; reads stay on this thread's connection,
 * which in WAL mode sees every commit that returned. `:memory:` cannot be shared with another
 * thread, so a private in-memory log commits on this thread.
 */

interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  events: StoredEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

interface PendingDelete {
  deleteStream: string;
  /** Set for truncateStream: the newest events kept. */
  keepNewest?: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * SQLite gives a new row the largest rowid + 1, so deleting the rows at the end of the table would
 * hand their positions out again, behind readers' cursors. A deletion that takes the newest row
 * leaves this hidden row at that position instead (replaced by the next such deletion).
 */
const TOMBSTONE = '$deleted';

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

/**
 * The durable log's pragmas, applied to every connection (synchronous is per connection, so the
 * writer thread applies them to its own). FULL: the WAL is fsynced at every commit, so a resolved
 * append survives power loss.
 */
const PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'cache_size = -65536'] as const;

/** Pragmas and table of the durable log; the benchmark's raw baseline uses exactly these. */
export function prepareEventsDatabase(db: Database.Database): void {
  for (const pragma of PRAGMAS) db.pragma(pragma);
  db.exec(SCHEMA);
}

export interface SqliteEventLogOptions {
  /**
   * Where a file log's commits run (`:memory:` always commits on the calling thread):
   * - `callingThread` (default): no round trip, the fastest appends (replay tools, imports, one
   *   producer awaiting each append), but every commit's fsync blocks the caller's event loop;
   * - `writerThread`: the fsync blocks a worker instead (what a guardian serving requests needs),
   *   at the cost of a round trip per commit.
   */
  commitOn?: 'writerThread' | 'callingThread';
}

/** Deletes a stream's rows in one transaction, keeping the newest position taken (see TOMBSTONE). */
function prepareDelete(db: Database.Database): (stream: string) => void {
  const newest = db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events');
  const remove = db.prepare<[string]>('DELETE FROM events WHERE stream = ?');
  const oldTombstones = db.prepare<[number]>(`DELETE FROM events WHERE stream = '${TOMBSTONE}' AND position < ?`);
  const tombstone = db.prepare<[number, number]>(`INSERT INTO events (position, stream, revision, id, type, data, metadata) VALUES (?, '${TOMBSTONE}', ?, '', '${TOMBSTONE}', '{}', '{}')`);
  return db.transaction((stream: string) => {
    const before = newest.get()?.position ?? null;
    if (remove.run(stream).changes === 0 || before === null) return;
    const after = newest.get()?.position ?? null;
    if (after !== before) tombstone.run(before, before);
    oldTombstones.run(before);
  });
}

/**
 * Deletes all but the newest `keepNewest` rows of a stream. The stream's newest row stays, so the
 * table's newest position is never freed (no tombstone) and the next revision continues.
 */
function prepareTruncate(db: Database.Database): (stream: string, keepNewest: number) => void {
  const remove = db.prepare<[string, string, number]>('DELETE FROM events WHERE stream = ? AND revision <= (SELECT MAX(revision) FROM events WHERE stream = ?) - ?');
  return (stream, keepNewest) => {
    remove.run(stream, stream, keepNewest);
  };
}

/** Opens (creating if needed) the log at `path`; `:memory:` gives a private, non-durable log. */
export function createSqliteEventLog(path: string, options: SqliteEventLogOptions = {}): EventLog {
  const db = new Database(path);
  prepareEventsDatabase(db);

  const pageAfter = db.prepare<[number, number], EventRow>(`SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position > ? AND stream <> '${TOMBSTONE}' ORDER BY position LIMIT ?`).raw(true);
  const streamForwards = db.prepare<[string, number, number], EventRow>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?').raw(true);
  const streamBackwards = db.prepare<[string, number, number], EventRow>('SELECT position, stream, revision, id, type, data, metadata FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?').raw(true);

  const notifier = createAppendNotifier();
  /** Appends and deletions (and truncations) in call order; consecutive appends commit as one transaction. */
  let queue: (PendingAppend | PendingDelete)[] = [];
  let flushScheduled = false;
  let inFlight: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let closed = false;
  let writer: SqliteWriter | undefined;

  const decode = (row: EventRow): RecordedEvent => decodeEvent(BigInt(row[0]), row[1], row[2], row[3], row[4], row[5], row[6]);
  const assertOpen = () => {
    if (closed) throw new EventLogClosedError();
  };
  /** The rows readStream and readStreamText decode. */
  const streamRows = (stream: string, options: ReadStreamOptions): EventRow[] => {
    assertOpen();
    const limit = options.maxCount ?? -1;
    return (options.direction ?? 'forwards') === 'forwards'
      ? streamForwards.all(stream, Math.max(0, options.fromRevision ?? 0), limit)
      : streamBackwards.all(stream, options.fromRevision ?? Number.MAX_SAFE_INTEGER, limit);
  };

  const commitInline = prepareCommit(db);
  const inline = path === ':memory:' || options.commitOn !== 'writerThread';
  const commit = (batch: PendingAppend[]): Promise<CommitOutcome[]> => {
    if (inline) {
      try {
        return Promise.resolve(commitInline(batch));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    writer ??= startSqliteWriter(path, PRAGMAS);
    return writer.commit(batch.map(({ stream, expected, events }) => ({ stream, expected, events })));
  };

  const settle = (batch: PendingAppend[], outcomes: CommitOutcome[]) => {
    outcomes.forEach((outcome, i) => {
      const append = batch[i]!;
      if (outcome.ok) append.resolve({ nextExpectedRevision: outcome.nextExpectedRevision, position: outcome.position });
      else if ('error' in outcome) append.reject(new SqliteWriteError(outcome.error.name, outcome.error.message, outcome.error.code));
      else append.reject(new ExpectedRevisionConflict(append.stream, append.expected, outcome.actual));
    });
    notifier.appended();
  };

  const deleteRows = prepareDelete(db);
  const truncateRows = prepareTruncate(db);
  const deleteAll = db.transaction((deletions: readonly PendingDelete[]) => {
    for (const pending of deletions) {
      if (pending.keepNewest === undefined) deleteRows(pending.deleteStream);
      else truncateRows(pending.deleteStream, pending.keepNewest);
    }
  });
  /** The next deletions in a row, as one transaction, once the appends called before them are committed (no commit is in flight). */
  const runDeletes = (deletions: readonly PendingDelete[]): Promise<void> => {
    try {
      // On this thread's connection: the writer thread's is idle between commits (WAL lets either
      // write). Its fsync blocks the event loop once per run of deletions, not once per append.
      deleteAll(deletions);
      for (const pending of deletions) pending.resolve();
    } catch (error) {
      for (const pending of deletions) pending.reject(error);
    }
    return Promise.resolve();
  };

  /** Commits the queued appends up to the next deletion as one transaction, or the deletions up to the next append, unless a commit is in flight (its end flushes again). */
  const flush = () => {
    flushScheduled = false;
    if (inFlight !== undefined || queue.length === 0) return;
    if ('deleteStream' in queue[0]!) {
      const end = queue.findIndex((pending) => !('deleteStream' in pending));
      const deletions = (end < 0 ? queue : queue.slice(0, end)) as PendingDelete[];
      queue = end < 0 ? [] : queue.slice(end);
      inFlight = runDeletes(deletions);
      void inFlight.finally(() => {
        inFlight = undefined;
        flush();
      });
      return;
    }
    const cut = queue.findIndex((pending) => 'deleteStream' in pending);
    const batch = (cut < 0 ? queue : queue.slice(0, cut)) as PendingAppend[];
    queue = cut < 0 ? [] : queue.slice(cut);
    inFlight = commit(batch).then(
      (outcomes) => settle(batch, outcomes),
      // The transaction rolled back (disk full, I/O error): nothing of the batch is on disk.
      (error: unknown) => {
        for (const append of batch) append.reject(error);
      },
    );
    void inFlight.finally(() => {
      inFlight = undefined;
      flush();
    });
  };

  const readPage = (after: Position, limit: number): RecordedEvent[] => {
    assertOpen();
    return pageAfter.all(Number(after), limit).map(decode);
  };

  const enqueue = (pending: PendingAppend | PendingDelete) => {
    queue.push(pending);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  return {
    append(stream, events, options = {}) {
      try {
        if (closing !== undefined) throw new EventLogClosedError();
        if (stream === TOMBSTONE) throw new RangeError(`${TOMBSTONE} is reserved by the sqlite log`);
        const stored = encodeEvents(stream, events);
        return new Promise<AppendResult>((resolve, reject) => enqueue({ stream, expected: options.expectedRevision ?? 'any', events: stored, resolve, reject }));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },

    deleteStream(stream) {
      if (closing !== undefined) return Promise.reject(new EventLogClosedError());
      if (stream === TOMBSTONE) return Promise.reject(new RangeError(`${TOMBSTONE} is reserved by the sqlite log`));
      return new Promise<void>((resolve, reject) => enqueue({ deleteStream: stream, resolve, reject }));
    },

    truncateStream(stream, keepNewest) {
      try {
        assertKeepNewest(keepNewest);
        if (closing !== undefined) throw new EventLogClosedError();
      } catch (error) {
        return Promise.reject(error as Error);
      }
      return new Promise<void>((resolve, reject) => enqueue({ deleteStream: stream, keepNewest, resolve, reject }));
    },

    async readStream(stream, options: ReadStreamOptions = {}) {
      return streamRows(stream, options).map(decode);
    },

    async readStreamText(stream, options: ReadStreamOptions = {}) {
      return streamRows(stream, options).map((row) => decodeEventText(BigInt(row[0]), row[1], row[2], row[3], row[4], row[5], row[6]));
    },

    readAll(fromPosition = START) {
      return readAllInPages(readPage, fromPosition, PAGE_SIZE);
    },

    readAllPages(fromPosition = START, pageSize = PAGE_SIZE) {
      return readAllPagesInOrder(readPage, fromPosition, pageSize);
    },

    subscribe(fromPosition = START) {
      return catchUpSubscription(readPage, notifier, fromPosition);
    },

    close() {
      closing ??= (async () => {
        // Appends already accepted are committed before the file closes.
        while (inFlight !== undefined || queue.length > 0) {
          flush();
          await inFlight;
        }
        await writer?.close();
        closed = true;
        notifier.closed();
        db.close();
      })();
      return closing;
    },
  };
}
