// @ts-check
/**
 * The sqlite log's writer thread (see sqliteWriterThread.ts): it owns the one write connection of
 * a log file and commits the batches of appends it is sent, so the fsync of every commit
 * (synchronous=FULL) blocks this thread instead of the guardian's event loop. Plain JavaScript
 * because Node 20 workers cannot load .ts.
 *
 * Messages in: `{ id, appends: [{ stream, expected, events: StoredEvent[] }] }`, then `{ close: true }`.
 * Messages out: `{ id, outcomes }` once the batch's transaction COMMITTED (so it is on disk), one
 * outcome per append in order (`{ ok: true, nextExpectedRevision, position }` or, for a revision
 * conflict that wrote nothing for that append, `{ ok: false, actual }`), or `{ id, error }` when the
 * whole transaction rolled back (nothing of the batch is on disk).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareCommit } from './sqliteCommit.mjs';

if (!parentPort) throw new Error('sqliteWriter.mjs must run as a worker thread');
const port = parentPort;
/** @type {{ path: string, pragmas: string[] }} */
const { path, pragmas } = workerData;

const db = new Database(path);
// synchronous (and cache_size) are per connection: the writer must set them on its own connection.
for (const pragma of pragmas) db.pragma(pragma);

const commitBatch = prepareCommit(db);

port.on('message', (/** @type {{ id: number, appends: import('./sqliteCommit.d.mts').CommitAppend[] } | { close: true }} */ message) => {
  if ('close' in message) {
    db.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: message.id, outcomes: commitBatch(message.appends) });
  } catch (error) {
    const { name, message: text, code } = /** @type {{ name?: string, message?: string, code?: unknown }} */ (error ?? {});
    port.postMessage({ id: message.id, error: { name: String(name ?? 'Error'), message: String(text ?? error), ...(typeof code === 'string' ? { code } : {}) } });
  }
});
