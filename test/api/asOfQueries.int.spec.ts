import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/apiError.ts';
import { createAsOfQueries } from '../../src/api/asOfQueries.ts';
import { auditProjection } from '../../src/projections/audit.ts';
import { ledgerProjection } from '../../src/projections/ledger.ts';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { writeSessionLog } from '../projections/sessionLogFixture.ts';

const SESSIONS = 4;

describe('as-of queries', () => {
  let log: EventLog;
  /** Folds started over the log (each as-of computation reads the log from its snapshot once). */
  let folds = 0;
  let counted: EventLog;

  beforeAll(async () => {
    log = await openEventLog({ kind: 'memory' }, { guardian: 0 });
    await writeSessionLog(log, { sessions: SESSIONS, itemsPerSession: 6, seed: 5 });
    counted = {
      ...log,
      readAllPages(from, size) {
        folds += 1;
        return log.readAllPages!(from, size);
      },
    };
  });
  afterAll(async () => {
    await log?.close();
  });

  it('computes a (projection, session) once: concurrent requests share it, later ones reuse it', async () => {
    const queries = createAsOfQueries(counted, () => SESSIONS - 1);
    const before = folds;
    const [a, b] = await Promise.all([queries.at(auditProjection, 2), queries.at(auditProjection, 2)]);
    expect(folds - before).toBe(1);
    expect(b.state).toBe(a.state);
    expect(a.asOf).toMatchObject({ session: 2 });
    await queries.at(auditProjection, 2);
    expect(folds - before).toBe(1);
    await queries.at(ledgerProjection, 2);
    await queries.at(auditProjection, 1);
    expect(folds - before).toBe(3);
  });

  it('keeps only the newest few states', async () => {
    const queries = createAsOfQueries(counted, () => SESSIONS - 1, 2);
    const before = folds;
    for (const session of [0, 1, 2, 0]) await queries.at(auditProjection, session);
    // Session 0 was pushed out by 1 and 2, so it was computed again.
    expect(folds - before).toBe(4);
  });

  it('refuses a session not completed with a 404 naming the newest completed one', async () => {
    const none = createAsOfQueries(counted, () => undefined);
    await expect(none.at(auditProjection, 0)).rejects.toMatchObject({ status: 404, message: expect.stringMatching(/no session has completed yet/) });
    const queries = createAsOfQueries(counted, () => SESSIONS - 1);
    const refused = await queries.at(auditProjection, SESSIONS).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 404, message: expect.stringMatching(`session ${SESSIONS} is not complete: the newest completed session is ${SESSIONS - 1}`) });
  });

  it('does not keep a failed computation', async () => {
    let fail = true;
    const flaky: EventLog = {
      ...log,
      readAllPages(from, size) {
        if (fail) throw new Error('disk unplugged');
        return log.readAllPages!(from, size);
      },
    };
    const queries = createAsOfQueries(flaky, () => SESSIONS - 1);
    await expect(queries.at(auditProjection, 1)).rejects.toThrow('disk unplugged');
    fail = false;
    expect((await queries.at(auditProjection, 1)).asOf.session).toBe(1);
  });
});
