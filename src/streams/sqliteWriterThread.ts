import type { CommitAppend, CommitOutcome } from './sqliteCommit.mjs';
import { newWorker } from '../runtime/threads/workerExecArgv.ts';

/**
 * The main thread's side of the sqlite log's writer thread (sqliteWriter.mjs). better-sqlite3 is
 * synchronous, so a commit on the event loop's thread holds every request and timer of the
 * guardian for the whole fsync (milliseconds on a busy disk); the writer thread commits instead
 * and the event loop only waits for its answer. A commit's promise resolves only once the
 * writer's COMMIT returned, so "append resolves only after fsync" holds exactly as before.
 */

export interface SqliteWriter {
  /** Resolves once the batch is committed (durable); rejects when its transaction rolled back or the writer failed. */
  commit(appends: readonly CommitAppend[]): Promise<CommitOutcome[]>;
  /** Waits for the batch in flight, closes the write connection and ends the thread. */
  close(): Promise<void>;
}

/** A failure raised while committing, as it was raised there: of one append (undone alone) or of the whole transaction (SQLITE_FULL, SQLITE_IOERR, ...). */
export class SqliteWriteError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

type WriterMessage = { id: number; outcomes: CommitOutcome[] } | { id: number; error: { name: string; message: string; code?: string } };

const WRITER_URL = new URL('./sqliteWriter.mjs', import.meta.url);

/** Starts the writer thread for the log file at `path`; `pragmas` are applied to its connection (they are per connection). */
export function startSqliteWriter(path: string, pragmas: readonly string[]): SqliteWriter {
  const worker = newWorker(WRITER_URL, { workerData: { path, pragmas: [...pragmas] } });
  const pending = new Map<number, { resolve(outcomes: CommitOutcome[]): void; reject(error: unknown): void }>();
  let nextId = 0;
  let failure: unknown;
  let lastError: unknown;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  // Only a thread with a commit in flight keeps the process alive (an idle log must not).
  worker.unref();
  worker.on('message', (message: WriterMessage) => {
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if ('error' in message) waiter.reject(new SqliteWriteError(message.error.name, message.error.message, message.error.code));
    else waiter.resolve(message.outcomes);
  });
  worker.on('error', (error) => {
    lastError = error;
  });
  worker.on('exit', (code) => {
    // Unknown outcome for a batch in flight: the guardian treats a failed append as fatal anyway.
    failure ??= lastError ?? new Error(`the sqlite writer thread exited (code ${code})`);
    for (const waiter of pending.values()) waiter.reject(failure);
    pending.clear();
  });

  return {
    commit(appends) {
      if (failure !== undefined) return Promise.reject(failure as Error);
      return new Promise<CommitOutcome[]>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, appends });
      });
    },
    async close() {
      if (failure === undefined) {
        failure = new Error('the sqlite writer is closed');
        // Messages are handled in order: everything sent before is committed before the close.
        worker.postMessage({ close: true });
        worker.ref();
      }
      await exited;
    },
  };
}
