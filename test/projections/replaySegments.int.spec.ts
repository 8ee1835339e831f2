import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSnapshots } from '../../src/projections/checkpointStore.ts';
import { canonicalTextHash, stateHash } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { estimateEventCount, planSegments, replay, type ReplayProblem, type ReplayProgress, type ReplayReport } from '../../src/projections/replay.ts';
import { readSessionItems } from '../../src/projections/signedOutcomes.ts';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { newEvent, streams, type SnapshotTaken } from '../../src/streams/events.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { checkpointEachSession, checkpointedSqliteLog, writeSessionLog } from './sessionLogFixture.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A SQLite file log of `sessions` sessions with a checkpoint of every projection after each one. */
async function fileLog(sessions = 4): Promise<{ log: EventLog; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-segments-'));
  dirs.push(dir);
  const { log, path } = await checkpointedSqliteLog(dir, { sessions, seed: 7 });
  return { log, path };
}

const parallel = (path: string) => ({ parallel: { location: { kind: 'sqlite' as const, path }, guardian: 0, split: 'checkpoint' as const } });
const sorted = (problems: ReplayProblem[]) => [...problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
/** Everything but the duration, problems in any order. */
const comparable = (report: ReplayReport) => ({ ...report, durationMs: 0, problems: sorted(report.problems) });

/** The snapshot of `projection` at the checkpoint a segmented replay of `log` splits at. */
async function splitSnapshot(log: EventLog, projection: string): Promise<SnapshotTaken> {
  const planned = (await planSegments(log, await estimateEventCount(log, [])))!;
  return (await readSnapshots(log, projection)).find((s) => s.session === planned.plan.session)!;
}

describe('replay on two threads, the log cut at a checkpoint (split: checkpoint)', () => {
  it('cuts at the checkpoint nearest the middle, and gives the report of one thread with progress to the end', async () => {
    const { log, path } = await fileLog();
    const total = (await estimateEventCount(log, []))!;
    const planned = await planSegments(log, total);
    expect(planned).toBeDefined();
    const at = Number(planned!.plan.at);
    expect(at).toBeGreaterThan(total * 0.4);
    expect(at).toBeLessThan(total * 0.7);
    expect(Object.keys(planned!.plan.starts).sort()).toEqual(['audit', 'ledger', 'peers', 'pendingItems', 'sessions', 'transactions']);
    const one = await replay(log);
    const progress: ReplayProgress[] = [];
    const two = await replay(log, { ...parallel(path), onProgress: (p) => progress.push(p), progressEvery: 25 });
    expect(one.ok).toBe(true);
    expect(comparable(two)).toEqual(comparable(one));
    expect(progress.at(-1)).toMatchObject({ events: one.events });
    expect(progress.map((p) => p.events)).toEqual([...progress.map((p) => p.events)].sort((a, b) => a - b));
    await log.close();
  });

  it('replays a projection again from the rebuilt state when its snapshot at the cut is self-consistent but wrong, and reports it', async () => {
    const { log, path } = await fileLog();
    const cut = await splitSnapshot(log, 'ledger');
    // The ledger of the first session, claimed for the cut: its hash is its own state's, so it decodes and the worker starts from it.
    const older = (await readSnapshots(log, 'ledger'))[0]!;
    expect(older.session).not.toBe(cut.session);
    await log.append(streams.checkpoint('ledger'), [newEvent('SnapshotTaken', { ...cut, state: older.state, stateHash: older.stateHash })]);
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(one.ok).toBe(false);
    expect(one.problems).toEqual([expect.objectContaining({ kind: 'snapshot', projection: 'ledger', session: cut.session, detail: 'stored state hash differs from the rebuilt state' })]);
    expect(comparable(two)).toEqual(comparable(one));
    await log.close();
  });

  it('replays a projection again when its snapshot at the cut does not match its own hash, and reports it as one thread does', async () => {
    const { log, path } = await fileLog();
    const cut = await splitSnapshot(log, 'audit');
    await log.append(streams.checkpoint('audit'), [newEvent('SnapshotTaken', { ...cut, stateHash: '00'.repeat(32) })]);
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(one.problems).toEqual([expect.objectContaining({ kind: 'snapshot', projection: 'audit', detail: 'stored state does not match its own state hash', computed: cut.stateHash })]);
    expect(comparable(two)).toEqual(comparable(one));
    await log.close();
  });

  it('finds what the second segment finds: a header that differs and an item the ledger would not reproduce, after the cut', async () => {
    const { log, path } = await fileLog();
    const planned = (await planSegments(log, await estimateEventCount(log, [])))!;
    const first = (await readSessionItems(log, 0, { limit: 1 }))[0]!;
    // Appended last: in the second segment, in a session of its own (after every checkpoint).
    await log.append(streams.session(4), [newEvent('ItemAccepted', { session: 4, index: 0, peer: 0, item: first.item, itemHash: first.itemHash, netAssets: '0' })]);
    await log.append(streams.session(4), [newEvent('SessionCompleted', { session: 4, header: '00'.repeat(40), itemCount: 1, signatures: {}, source: 'local' })]);
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(planned.plan.session).toBeLessThan(4);
    expect(one.problems.map((p) => p.kind).sort()).toEqual(['header', 'projection', 'projection', 'signature']);
    expect(comparable(two)).toEqual(comparable(one));
    await log.close();
  });

  it('checks again, over the whole log, a session with events on both sides of the cut', async () => {
    const { log, path } = await fileLog();
    const first = (await readSessionItems(log, 0, { limit: 1 }))[0]!;
    // An item of session 0 after everything (not a log the engine writes): session 0 has events on both sides.
    await log.append(streams.session(0), [newEvent('ItemAccepted', { session: 0, index: 12, peer: 0, item: first.item, itemHash: first.itemHash, netAssets: '0' })]);
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(comparable(two)).toEqual(comparable(one));
    await log.close();
  });

  it('does the worker\'s share here when the worker cannot open the log', async () => {
    const { log, path } = await fileLog();
    const one = await replay(log);
    const broken = await replay(log, { parallel: { location: { kind: 'sqlite', path: join(path, 'not-a-dir', 'log.sqlite') }, guardian: 0, split: 'checkpoint' } });
    expect(comparable(broken)).toEqual(comparable(one));
    await log.close();
  });

  it('does not cut where no checkpoint lies well inside the log (nor without stored text)', async () => {
    const { log } = await fileLog(1);
    expect(await planSegments(log, await estimateEventCount(log, []))).toBeUndefined();
    const { log: other } = await fileLog();
    expect(await planSegments(other, await estimateEventCount(other, []))).toBeDefined();
    expect(await planSegments({ ...other, readStreamText: undefined } as EventLog, await estimateEventCount(other, []))).toBeUndefined();
    await log.close();
    await other.close();
  });
});

describe('stored snapshots checked on their text', () => {
  it('reports a snapshot whose hash is of its stored text but not of its canonical text as not matching its own hash', async () => {
    let tick = 0;
    const log = withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
    const host = await startProjections(log, { retention: 1 });
    await writeSessionLog(log, { sessions: 2, itemsPerSession: 5, seed: 3, afterSession: checkpointEachSession(host) });
    await host.stop();
    const good = (await readSnapshots(log, 'sessions')).at(-1)!;
    // Keys out of order: the stored text is not canonical, and the hash is of that text.
    const state = { open: [], completed: [] };
    await log.append(streams.checkpoint('sessions'), [newEvent('SnapshotTaken', { ...good, state, stateHash: canonicalTextHash(JSON.stringify(state)) })]);
    const report = await replay(log);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'snapshot', projection: 'sessions', detail: 'stored state does not match its own state hash', computed: stateHash(state) }),
    ]);
  });
});
