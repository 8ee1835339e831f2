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

// A file log commits on its writer thread (what a guardian uses) or on the calling thread: both pass every test here.
describe.each(['writerThread', 'callingThread'] as const)('sqlite event log file committing on the %s', (commitOn) => {
    it('is a WAL file', async () => {
      const path = freshPath();
      const log = createSqliteEventLog(path, { commitOn });
      await log.append('s', [ev(0)]);
      await log.close();
      const db = new Database(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    });

    it('group commit: appends of the same tick are checked in order inside one transaction, and a conflict fails only its own append', async () => {
      const log = createSqliteEventLog(freshPath(), { commitOn });
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
      let log = createSqliteEventLog(path, { commitOn });
      const pending = log.append('s', [ev(0), ev(1)]);
      await log.close();
      await expect(pending).resolves.toEqual({ nextExpectedRevision: 1, position: 2n });
      log = createSqliteEventLog(path, { commitOn });
      expect(await log.readStream('s')).toHaveLength(2);
      await log.close();
    });

    it('an append that fails on its own inside a group commit is undone alone; the others of the batch commit', async () => {
      const path = freshPath();
      const log = createSqliteEventLog(path, { commitOn });
      await log.append('s', [ev(0)]);
      // A trigger stands in for an error of one append only (a constraint, an oversized value): its savepoint is rolled back.
      const other = new Database(path);
      other.exec("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'Boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
      other.close();
      const [first, boom, last] = await Promise.allSettled([log.append('s', [ev(1)]), log.append('t', [{ type: 'Boom', data: {} }]), log.append('u', [ev(7)])]);
      expect(first).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 1, position: 2n } });
      expect(boom.status).toBe('rejected');
      expect((boom as PromiseRejectedResult).reason).toBeInstanceOf(SqliteWriteError);
      expect(((boom as PromiseRejectedResult).reason as Error).message).toContain('disk on fire');
      expect(last).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 0, position: 3n } });
      expect((await log.readStream('s')).map((e) => (e.data as { n: number }).n)).toEqual([0, 1]);
      expect(await log.readStream('t')).toEqual([]);
      // Positions stay dense: the undone append left no gap.
      const positions: bigint[] = [];
      for await (const event of log.readAll()) positions.push(event.position);
      expect(positions).toEqual([1n, 2n, 3n]);
      await expect(log.append('s', [ev(2)], { expectedRevision: 1 })).resolves.toEqual({ nextExpectedRevision: 2, position: 4n });
      await log.close();
    });

    it('refuses appends once closing, and close() is idempotent', async () => {
      const log = createSqliteEventLog(freshPath(), { commitOn });
      await log.append('s', [ev(0)]);
      const first = log.close();
      await expect(log.append('s', [ev(1)])).rejects.toThrow(EventLogClosedError);
      await Promise.all([first, log.close()]);
      await expect(log.readStream('s')).rejects.toThrow(EventLogClosedError);
    });
});

describe('sqlite event log', () => {
  it('refuses data that JSON cannot carry before writing anything', async () => {
    const log = createSqliteEventLog(':memory:');
    await expect(log.append('s', [ev(0), { type: 'T', data: { amount: 1n } }])).rejects.toThrow(TypeError);
    expect(await log.readStream('s')).toEqual([]);
    await log.close();
  });
});
