import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditProjection } from '../../src/projections/audit.ts';
import { stateAtSession } from '../../src/projections/checkpointAsOf.ts';
import { checkpointStreams, keptCheckpoints } from '../../src/projections/checkpointTiers.ts';
import { ledgerProjection } from '../../src/projections/ledger.ts';
import { projectionStateHash, type Projection } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { replay } from '../../src/projections/replay/replay.ts';
import { standardProjections } from '../../src/projections/standardProjections.ts';
import { transactionsProjection } from '../../src/projections/transactions.ts';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { isEvent } from '../../src/streams/events.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { eventStoreDbLogOver } from '../../src/streams/eventStoreDb.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { createFakeEventStoreDb } from '../streams/eventStoreDbFakeClient.ts';
import { checkpointEachSession, writeSessionLog } from './sessionLogFixture.ts';

/** A checkpoint of every projection after each of SESSIONS sessions, kept by the tier rule with K = RETENTION. */
const SESSIONS = 130;
const RETENTION = 3;

/** The projection's state hash at the end of every session, by folding the whole log once from position 0. */
async function hashesPerSession<S>(log: EventLog, projection: Projection<S>): Promise<string[]> {
  const hashes: string[] = [];
  let state = projection.initial;
  for await (const event of log.readAll()) {
    state = projection.evolve(state, event);
    if (isEvent(event, 'SessionCompleted')) hashes.push(projectionStateHash(projection, state));
  }
  return hashes;
}

describe('checkpoint retention over a long log (sqlite)', () => {
  let dir: string;
  let path: string;
  let log: EventLog;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-retention-'));
    path = join(dir, 'log.sqlite');
    log = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
    const host = await startProjections(log, { retention: RETENTION });
    await writeSessionLog(log, { sessions: SESSIONS, itemsPerSession: 4, seed: 18, afterSession: checkpointEachSession(host) });
    await host.stop();
  }, 120_000);
  afterAll(async () => {
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores exactly the snapshots the tier rule keeps, not one per session', async () => {
    // Session s is checkpoint s + 1: every session from 0 was checkpointed.
    const expected = keptCheckpoints(SESSIONS, RETENTION).map((o) => o - 1);
    for (const projection of standardProjections()) {
      const sessions = new Set<number>();
      let stored = 0;
      for (const stream of await checkpointStreams(log, projection.name)) {
        const events = await log.readStream(stream);
        stored += events.length;
        expect(events.length, stream).toBeLessThanOrEqual(RETENTION);
        for (const event of events) if (isEvent(event, 'SnapshotTaken')) sessions.add(event.data.session);
      }
      expect([...sessions].sort((a, b) => a - b), projection.name).toEqual(expected);
      // Each kept snapshot is stored once.
      expect(stored).toBe(expected.length);
      expect(stored).toBeLessThanOrEqual(RETENTION * (1 + Math.floor(Math.log2(SESSIONS))));
    }
  });

  it.each([auditProjection, ledgerProjection, transactionsProjection] as Array<Projection<unknown>>)('$name: as of every session equals the fold from position 0, from a kept snapshot a short fold away', async (projection) => {
    const expected = await hashesPerSession(log, projection);
    expect(expected).toHaveLength(SESSIONS);
    const kept = keptCheckpoints(SESSIONS, RETENTION).map((o) => o - 1);
    for (let session = 0; session < SESSIONS; session++) {
      const found = (await stateAtSession(log, projection, session))!;
      expect(projectionStateHash(projection, found.state), `session ${session}`).toBe(expected[session]);
      // The nearest kept snapshot at or before the session is the one used.
      expect(found.fromSnapshot?.session, `session ${session}`).toBe(kept.filter((s) => s <= session).at(-1));
    }
    expect(await stateAtSession(log, projection, SESSIONS)).toBeUndefined();
  });

  it('starts again from the newest snapshot after the truncations', async () => {
    const host = await startProjections(log, { retention: RETENTION });
    try {
      for (const status of host.status()) expect(status.newestCheckpoint?.session, status.name).toBe(SESSIONS - 1);
      const expected = await hashesPerSession(log, ledgerProjection);
      expect(projectionStateHash(ledgerProjection, host.state(ledgerProjection))).toBe(expected.at(-1));
    } finally {
      await host.stop();
    }
  });

  it('replays with no mismatch, comparing every kept snapshot', async () => {
    const report = await replay(log);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.snapshotsChecked).toBe(keptCheckpoints(SESSIONS, RETENTION).length * standardProjections().length);
  });
});

describe('checkpoint retention switched on over a log that kept every snapshot', () => {
  it('answers every session as the fold from position 0 does, whatever the streams look like', async () => {
    const log = await openEventLog({ kind: 'memory' }, { guardian: 0 });
    try {
      // Sessions 0..11 checkpointed keeping everything, then 12..39 by the rule with K = 3: the
      // tier streams start mid-way, so the checkpoint numbers no longer say where a snapshot is.
      const keepAll = await startProjections(log, { retention: 40 });
      const byRule = await startProjections(log, { retention: RETENTION });
      await writeSessionLog(log, {
        sessions: 40,
        itemsPerSession: 3,
        seed: 7,
        afterSession: async (session, position) => checkpointEachSession(session < 12 ? keepAll : byRule)(session, position),
      });
      await Promise.all([keepAll.stop(), byRule.stop()]);
      for (const projection of [auditProjection, ledgerProjection] as Array<Projection<unknown>>) {
        const expected = await hashesPerSession(log, projection);
        for (let session = 0; session < 40; session++) {
          const found = (await stateAtSession(log, projection, session))!;
          expect(projectionStateHash(projection, found.state), `${projection.name} at ${session}`).toBe(expected[session]);
        }
        // The newest sessions still start from their own snapshot.
        expect((await stateAtSession(log, projection, 39))!.fromSnapshot?.session).toBe(39);
      }
    } finally {
      await log.close();
    }
  });
});

describe('checkpoint retention over EventStoreDB (emulated server)', () => {
  it('keeps the snapshots the rule keeps, through $tb, and answers as of every session', async () => {
    const log = withEventSchemas(eventStoreDbLogOver(createFakeEventStoreDb().client), { guardian: 0 });
    try {
      const host = await startProjections(log, { retention: RETENTION, projections: [auditProjection] });
      await writeSessionLog(log, { sessions: 24, itemsPerSession: 3, seed: 9, afterSession: checkpointEachSession(host) });
      await host.stop();
      const sessions: number[] = [];
      for (const stream of await checkpointStreams(log, 'audit')) for (const event of await log.readStream(stream)) if (isEvent(event, 'SnapshotTaken')) sessions.push(event.data.session);
      expect(sessions.sort((a, b) => a - b)).toEqual(keptCheckpoints(24, RETENTION).map((o) => o - 1));
      const expected = await hashesPerSession(log, auditProjection);
      for (let session = 0; session < 24; session++) {
        expect(projectionStateHash(auditProjection, (await stateAtSession(log, auditProjection, session))!.state), `session ${session}`).toBe(expected[session]);
      }
    } finally {
      await log.close();
    }
  });
});
