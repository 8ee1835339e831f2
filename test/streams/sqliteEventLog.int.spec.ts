import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventLogClosedError, ExpectedRevisionConflict } from '../../src/streams/errors.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { SqliteWriteError } from '../../src/streams/sqliteWriterThread.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedlog-sqlite-'));
let files = 0;
const freshPath = () => join(dir, `log-${files++}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ev = (n: number) => ({ type: 'T', data: { n } });

describe('sqlite event log', () => {
  it('is a WAL file', async () => {
    const path = freshPath();
    const log = createSqliteEventLog(path);
    await log.append('s', [ev(0)]);
    await log.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('group commit: appends of the same tick are checked in order inside one transaction, and a conflict fails only its own append', async () => {
    const log = createSqliteEventLog(freshPath());
    const outcomes = await Promise.allSettled([
      log.append('s', [ev(0)], { expectedRevision: 'noStream' }),
      log.append('s', [ev(1), ev(2)], { expectedRevision: 0 }),
      log.append('s', [ev(99)], { expectedRevision: 0 }),
      log.append('t', [ev(3)], { expectedRevision: 'noStream' }),
      log.append('s', [ev(4)], { expectedRevision: 2 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(ExpectedRevisionConflict);
    expect(outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))).toEqual([
      { nextExpectedRevision: 0, position: 1n },
      { nextExpectedRevision: 2, position: 3n },
      { nextExpectedRevision: 0, position: 4n },
      { nextExpectedRevision: 3, position: 5n },
    ]);
    expect((await log.readStream('s')).map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 4]);
    await log.close();
  });

  it('commits appends still queued when closed, and they are there on reopening', async () => {
    const path = freshPath();
    let log = createSqliteEventLog(path);
    const pending = log.append('s', [ev(0), ev(1)]);
    await log.close();
    await expect(pending).resolves.toEqual({ nextExpectedRevision: 1, position: 2n });
    log = createSqliteEventLog(path);
    expect(await log.readStream('s')).toHaveLength(2);
    await log.close();
  });

  it('a commit that fails on the writer thread rejects every append of its batch, writes none of them, and the log appends on', async () => {
    const path = freshPath();
    const log = createSqliteEventLog(path);
    await log.append('s', [ev(0)]);
    // Stands in for an I/O error inside the transaction: any failure rolls the whole batch back.
    const other = new Database(path);
    other.exec("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'Boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    other.close();
    const outcomes = await Promise.allSettled([log.append('s', [ev(1)]), log.append('t', [{ type: 'Boom', data: {} }])]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(SqliteWriteError);
      expect(((outcome as PromiseRejectedResult).reason as Error).message).toContain('disk on fire');
    }
    expect((await log.readStream('s')).map((e) => (e.data as { n: number }).n)).toEqual([0]);
    expect(await log.readStream('t')).toEqual([]);
    await expect(log.append('s', [ev(1)], { expectedRevision: 0 })).resolves.toEqual({ nextExpectedRevision: 1, position: 2n });
    await log.close();
  });

  it('refuses appends once closing, and close() is idempotent', async () => {
    const log = createSqliteEventLog(freshPath());
    await log.append('s', [ev(0)]);
    const first = log.close();
    await expect(log.append('s', [ev(1)])).rejects.toThrow(EventLogClosedError);
    await Promise.all([first, log.close()]);
    await expect(log.readStream('s')).rejects.toThrow(EventLogClosedError);
  });

  it('refuses data that JSON cannot carry before writing anything', async () => {
    const log = createSqliteEventLog(':memory:');
    await expect(log.append('s', [ev(0), { type: 'T', data: { amount: 1n } }])).rejects.toThrow(TypeError);
    expect(await log.readStream('s')).toEqual([]);
    await log.close();
  });
});
