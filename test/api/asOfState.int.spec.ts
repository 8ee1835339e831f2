import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateAtSession } from '../../src/projections/checkpointAsOf.ts';
import { appendSnapshot } from '../../src/projections/checkpointStore.ts';
import { auditProjection } from '../../src/projections/audit.ts';
import { ledgerProjection } from '../../src/projections/ledger.ts';
import { stateHash, type Projection } from '../../src/projections/projection.ts';
import { transactionsProjection } from '../../src/projections/transactions.ts';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { isEvent } from '../../src/streams/events.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { writeSessionLog } from '../projections/sessionLogFixture.ts';

const SESSIONS = 8;
const SNAPSHOTS = [2, 5];

/** The projection's state hash at the end of every session, by folding the whole log once. */
async function hashesPerSession<S>(log: EventLog, projection: Projection<S>): Promise<string[]> {
  const hashes: string[] = [];
  let state = projection.initial;
  for await (const event of log.readAll()) {
    state = projection.evolve(state, event);
    if (isEvent(event, 'SessionCompleted')) hashes.push(stateHash(projection.toSnapshot(state)));
  }
  return hashes;
}

describe('a projection as of any session', () => {
  let log: EventLog;

  beforeAll(async () => {
    log = await openEventLog({ kind: 'memory' }, { guardian: 0 });
    await writeSessionLog(log, { sessions: SESSIONS, itemsPerSession: 12, seed: 3 });
    // Snapshots as the projection host takes them: the state and position once a session completed.
    for (const projection of [auditProjection, ledgerProjection, transactionsProjection] as Array<Projection<unknown>>) {
      let state = projection.initial;
      for await (const event of log.readAll()) {
        state = projection.evolve(state, event);
        if (isEvent(event, 'SessionCompleted') && SNAPSHOTS.includes(event.data.session)) await appendSnapshot(log, projection, state, event.position, event.data.session);
      }
    }
  });
  afterAll(async () => {
    await log?.close();
  });

  it.each([auditProjection, ledgerProjection, transactionsProjection] as Array<Projection<unknown>>)('$name: equals the full fold at every session, starting from the nearest snapshot at or before it', async (projection) => {
    const expected = await hashesPerSession(log, projection);
    expect(expected).toHaveLength(SESSIONS);
    for (let session = 0; session < SESSIONS; session++) {
      const found = (await stateAtSession(log, projection, session))!;
      expect(stateHash(projection.toSnapshot(found.state)), `session ${session}`).toBe(expected[session]);
      const nearest = SNAPSHOTS.filter((s) => s <= session).at(-1);
      expect(found.fromSnapshot?.session).toBe(nearest);
      if (nearest === session) expect(found.folded).toBe(0);
      else expect(found.folded).toBeGreaterThan(0);
    }
  });

  it('has no state for a session that has not completed', async () => {
    expect(await stateAtSession(log, auditProjection, SESSIONS)).toBeUndefined();
  });
});
