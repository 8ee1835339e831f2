// @ts-check
/**
 * The sqlite log's commit of a batch of appends, in one transaction: shared by the writer thread
 * (sqliteWriter.mjs, for log files) and the in-thread path of a `:memory:` log, so both apply the
 * same statements and the same revision rule. Plain JavaScript because Node 20 workers cannot
 * load .ts.
 */
import { decideAppend } from './appendDecision.mjs';

/**
 * @param {import('better-sqlite3').Database} db a connection to a database prepared by prepareEventsDatabase
 * @returns {(batch: readonly import('./sqliteCommit.d.mts').CommitAppend[]) => import('./sqliteCommit.d.mts').CommitOutcome[]}
 *   commits the batch (every append's revision checked against what the earlier appends of the
 *   batch wrote; a conflict or an error of its own writes nothing for its append, and the others
 *   commit) and returns once COMMIT returned; throws when the whole transaction rolled back
 */
export function prepareCommit(db) {
  const lastRevisionOf = db.prepare('SELECT MAX(revision) AS revision FROM events WHERE stream = ?');
  const eventAt = db.prepare('SELECT id, position FROM events WHERE stream = ? AND revision = ?');
  const insert = db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');

  /** @param {string} stream @param {number} revision */
  const refAt = (stream, revision) => {
    const row = /** @type {{ id: string, position: number } | undefined} */ (eventAt.get(stream, revision));
    return row === undefined ? undefined : { id: row.id, position: BigInt(row.position) };
  };

  /** @param {import('./sqliteCommit.d.mts').CommitAppend} append @returns {import('./sqliteCommit.d.mts').CommitOutcome} */
  const applyOne = (append) => {
    const current = /** @type {{ revision: number | null } | undefined} */ (lastRevisionOf.get(append.stream))?.revision ?? -1;
    const decision = decideAppend(
      append.expected,
      current,
      append.events.map((e) => e.givenId),
      (revision) => refAt(append.stream, revision),
    );
    if (decision.kind === 'conflict') return { ok: false, actual: decision.actual };
    if (decision.kind === 'retry') return { ok: true, nextExpectedRevision: decision.lastRevision, position: decision.position };
    if (append.events.length === 0) {
      const last = current < 0 ? undefined : refAt(append.stream, current);
      return { ok: true, nextExpectedRevision: current, position: last === undefined ? 0n : last.position };
    }
    let revision = current;
    let position = 0;
    for (const event of append.events) {
      revision += 1;
      position = Number(insert.run(append.stream, revision, event.id, event.type, event.data, event.metadata).lastInsertRowid);
    }
    return { ok: true, nextExpectedRevision: revision, position: BigInt(position) };
  };

  const commitAll = db.transaction((batch) => batch.map(applyOne));

  // Called inside the batch's transaction, a better-sqlite3 transaction is a SAVEPOINT: an append
  // that fails for a reason of its own (a constraint, a trigger, an oversized value) is undone alone.
  const applyIsolated = db.transaction(applyOne);
  const commitEachIsolated = db.transaction((batch) =>
    batch.map((append) => {
      try {
        return applyIsolated(append);
      } catch (error) {
        // SQLite rolled the whole transaction back (disk full, I/O error): nothing of the batch can commit.
        if (!db.inTransaction) throw error;
        const { name, message, code } = /** @type {{ name?: string, message?: string, code?: unknown }} */ (error ?? {});
        return { ok: false, error: { name: String(name ?? 'Error'), message: String(message ?? error), ...(typeof code === 'string' ? { code } : {}) } };
      }
    }),
  );

  // Savepoints cost two statements per append, so a batch runs without them first; only a batch
  // that failed (and was rolled back whole, nothing written) runs again with one per append.
  return (batch) => {
    try {
      return commitAll(batch);
    } catch (error) {
      if (batch.length === 1) throw error;
      return commitEachIsolated(batch);
    }
  };
}
