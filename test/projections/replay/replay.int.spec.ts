import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, header as sessionHeader } from '../../../src/domain/hashing.ts';
import { decodeConsensusItem } from '../../../src/domain/consensusItem.ts';
import { hexToBytes } from '../../../src/domain/hashing.ts';
import { initialLedgerState, ledgerRules, processItem } from '../../../src/domain/ledger.ts';
import { createModules, defaultModuleCodecs } from '../../../src/domain/modules/consensusModules.ts';
import { signedSessionOutcomeFromJson, verifySignedSessionOutcome } from '../../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { auditHistory, auditProjection, currentAudit } from '../../../src/projections/audit.ts';
import { readSnapshots } from '../../../src/projections/checkpointStore.ts';
import { canonicalTextHash, stateHash } from '../../../src/projections/projection.ts';
import { snapshotTextParts } from '../../../src/projections/storedSnapshots.ts';
import { startProjections } from '../../../src/projections/projectionHost.ts';
import { replay, type ReplayProgress } from '../../../src/projections/replay/replay.ts';
import { standardProjections } from '../../../src/projections/standardProjections.ts';
import { readSessionItems, readSignedSessionOutcome } from '../../../src/projections/signedOutcomes.ts';
import { createMemoryEventLog } from '../../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../../src/streams/sqliteEventLog.ts';
import type { EventLog } from '../../../src/streams/eventLog.ts';
import { newEvent, streams } from '../../../src/streams/events.ts';
import { writeSessionLog, type SessionLogSummary, checkpointEachSession, checkpointedSqliteLog } from '../sessionLogFixture.ts';

function memoryLog(): EventLog {
  let tick = 0;
  return withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
}

/** A log of `sessions` sessions with a checkpoint of every projection after each one, all kept. */
async function checkpointedLog(sessions = 4): Promise<{ log: EventLog; fixture: SessionLogSummary }> {
  const log = memoryLog();
  const host = await startProjections(log, { retention: sessions });
  const fixture = await writeSessionLog(log, {
    sessions,
    itemsPerSession: 10,
    seed: 11,
    afterSession: checkpointEachSession(host),
  });
  await host.stop();
  return { log, fixture };
}

describe('replay', () => {
  it('verifies an honest log: every header, signature and snapshot, with progress up to the total', async () => {
    const { log } = await checkpointedLog();
    const progress: ReplayProgress[] = [];
    const report = await replay(log, { onProgress: (p) => progress.push(p), progressEvery: 10 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sessions).toBe(4);
    expect(report.snapshotsChecked).toBe(4 * 6);
    let count = 0;
    for await (const _ of log.readAll()) count++;
    expect(report.events).toBe(count);
    expect(progress.at(-1)).toMatchObject({ events: count, total: count });
    expect(progress.length).toBeGreaterThan(5);
  });

  it('passes over the snapshots it read first and ends as a replay reading every event does, the log ending in snapshots', async () => {
    const { log } = await checkpointedLog();
    const progress: ReplayProgress[] = [];
    let delivered = 0;
    const counting: EventLog = {
      ...log,
      async *readAllPages(from, size) {
        for await (const page of log.readAllPages!(from, size)) {
          delivered += page.length;
          yield page;
        }
      },
    };
    const report = await replay(counting, { onProgress: (p) => progress.push(p), progressEvery: 7 });
    // The 6 projections' snapshots of the 4 sessions were not read a second time.
    expect(delivered).toBe(report.events - 4 * 6);
    // Copies of the standard projections: replay cannot know that they ignore SnapshotTaken, so it reads every event.
    const everyEvent = await replay(log, { projections: standardProjections().map((p) => ({ ...p })) });
    expect(report.ok).toBe(true);
    expect(everyEvent.ok).toBe(true);
    expect(report.projections).toEqual(everyEvent.projections);
    expect([report.events, report.sessions, report.snapshotsChecked, report.snapshotsUnchecked]).toEqual([everyEvent.events, everyEvent.sessions, everyEvent.snapshotsChecked, everyEvent.snapshotsUnchecked]);
    const last = (await log.readStream(streams.checkpoint('peers'), { direction: 'backwards', maxCount: 1 }))[0]!;
    expect(report.projections.every((p) => p.position === last.position.toString())).toBe(true);
    expect(progress.map((p) => p.events)).toEqual([...Array.from({ length: Math.floor(report.events / 7) }, (_, i) => 7 * (i + 1)), report.events]);
  });

  it('from a checkpoint reads only the tail and ends in the same states', async () => {
    const { log } = await checkpointedLog();
    const full = await replay(log);
    const tail = await replay(log, { fromCheckpoint: 2 });
    expect(tail.ok).toBe(true);
    expect(tail.events).toBeLessThan(full.events / 2);
    expect(tail.projections).toEqual(full.projections);
    // Session 3 lies wholly after the checkpoint of session 2, so it is still verified.
    expect(tail.sessions).toBe(1);
  });

  it('detects a SessionCompleted whose header is not the header of its items', async () => {
    const { log, fixture } = await checkpointedLog(2);
    const wrong = sessionHeader(2, [new Uint8Array(32).fill(1)]);
    // Correctly signed, so only the header is wrong.
    await log.append(streams.session(2), [
      newEvent('SessionCompleted', { session: 2, header: bytesToHex(wrong), itemCount: 0, signatures: { '0': bytesToHex(fixture.keychain.sign(wrong)) }, source: 'local' }),
    ]);
    const report = await replay(log);
    expect(report.ok).toBe(false);
    expect(report.headerMismatches).toBe(1);
    expect(report.signatureFailures).toBe(0);
    expect(report.problems[0]).toMatchObject({ kind: 'header', session: 2, stored: bytesToHex(wrong), computed: bytesToHex(sessionHeader(2, [])) });
  });

  it('detects a session sealed without a valid threshold of signatures', async () => {
    const { log, fixture } = await checkpointedLog(2);
    const right = sessionHeader(2, []);
    const other = sessionHeader(3, []);
    await log.append(streams.session(2), [
      newEvent('SessionCompleted', { session: 2, header: bytesToHex(right), itemCount: 0, signatures: { '0': bytesToHex(fixture.keychain.sign(other)) }, source: 'local' }),
    ]);
    // A signature from a peer outside the federation does not count either.
    await log.append(streams.session(3), [
      newEvent('SessionCompleted', { session: 3, header: bytesToHex(other), itemCount: 0, signatures: { '7': bytesToHex(fixture.keychain.sign(other)) }, source: 'peer' }),
    ]);
    const report = await replay(log);
    expect(report.headerMismatches).toBe(0);
    expect(report.signatureFailures).toBe(2);
    expect(report.problems.map((p) => [p.kind, 'session' in p ? p.session : -1])).toEqual([
      ['signature', 2],
      ['signature', 3],
    ]);
  });

  it('detects a stored snapshot that does not match the rebuilt state', async () => {
    const { log } = await checkpointedLog(2);
    const good = (await readSnapshots(log, 'sessions')).at(-1)!;
    const state = { completed: [], open: [] };
    // Self-consistent (its hash is its state's hash) but not the state at that position.
    await log.append(streams.checkpoint('sessions'), [newEvent('SnapshotTaken', { ...good, session: 9, state, stateHash: stateHash(state) })]);
    const report = await replay(log);
    expect(report.snapshotMismatches).toBe(1);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'snapshot', projection: 'sessions', session: 9, stored: stateHash(state), position: good.position })]);
    // A snapshot whose hash does not even match its own state is reported too.
    await log.append(streams.checkpoint('peers'), [newEvent('SnapshotTaken', { ...(await readSnapshots(log, 'peers')).at(-1)!, state: { peers: [] } })]);
    expect((await replay(log)).snapshotMismatches).toBe(2);
  });

  it('reports an accepted item the ledger would not reproduce', async () => {
    const { log } = await checkpointedLog(1);
    const first = (await readSessionItems(log, 0, { limit: 1 }))[0]!;
    await log.append(streams.session(1), [newEvent('ItemAccepted', { session: 1, index: 0, peer: 0, item: first.item, itemHash: first.itemHash, netAssets: '0' })]);
    const report = await replay(log);
    expect(report.ok).toBe(false);
    expect(report.problems.filter((p) => p.kind === 'projection').map((p) => p.kind === 'projection' && p.projection)).toEqual(['ledger', 'audit']);
  });

  it('keeps an audit history equal to the balance sheets recomputed from the signed outcomes', async () => {
    const { log, fixture } = await checkpointedLog(5);
    const host = await startProjections(log, { retention: 1 });
    const history = auditHistory(host.state(auditProjection));
    expect(history.map((h) => h.session)).toEqual([0, 1, 2, 3, 4]);

    const modules = createModules();
    const rules = ledgerRules({ peerCount: 1, modules, verify: nobleBackend.verify });
    let ledger = initialLedgerState(rules);
    for (let session = 0; session < 5; session++) {
      const signed = (await readSignedSessionOutcome(log, session))!;
      const outcome = signedSessionOutcomeFromJson({ items: signed.items, signatures: signed.signatures }, defaultModuleCodecs);
      if (!outcome.ok) throw new Error('outcome does not decode');
      expect(verifySignedSessionOutcome(fixture.keychain.federation, session, outcome.value)).toBe(true);
      let net = 0n;
      let lines: { module: number; name: string; msat: string }[] = [];
      for (const { item, peer } of signed.items) {
        const decoded = decodeConsensusItem(hexToBytes(item), defaultModuleCodecs);
        if (!decoded.ok) throw new Error('item does not decode');
        // Real signature verification here: the recomputation trusts nothing.
        const processed = processItem(rules, ledger, decoded.value, peer);
        if (!processed.ok) throw new Error(processed.reason);
        ledger = processed.state;
        net = processed.audit.netAssets;
        lines = processed.audit.modules.map((l) => ({ module: l.module, name: l.name, msat: l.msat.toString() }));
      }
      expect(history[session]).toEqual({ session, itemCount: signed.items.length, modules: lines, netAssets: net.toString() });
    }
    expect(currentAudit(host.state(auditProjection))).toEqual(history.at(-1));
    await host.stop();
  });
});

describe('replay on two threads (a SQLite file log)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function fileLog(): Promise<{ log: EventLog; path: string; fixture: SessionLogSummary }> {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-replay-'));
    dirs.push(dir);
    return checkpointedSqliteLog(dir, { sessions: 3, seed: 5 });
  }
  const parallel = (path: string) => ({ parallel: { location: { kind: 'sqlite' as const, path }, guardian: 0 } });

  it('finds the ledger, audit, transactions and pending items snapshots stored as canonical text (their own hashes are checked without parsing them)', async () => {
    const { log } = await fileLog();
    for (const projection of ['ledger', 'audit', 'transactions', 'pendingItems']) {
      const stored = await log.readStreamText!(streams.checkpoint(projection));
      expect(stored.length, projection).toBeGreaterThan(0);
      for (const event of stored) {
        const parts = snapshotTextParts(event);
        expect(parts, projection).toBeDefined();
        expect(canonicalTextHash(parts!.stateText), projection).toBe(parts!.head.stateHash);
      }
    }
    await log.close();
  });

  it('gives the report of one thread: same states, sessions and snapshots checked', async () => {
    const { log, path } = await fileLog();
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(one.ok).toBe(true);
    expect(two.ok).toBe(true);
    expect(two.projections).toEqual(one.projections);
    expect(two.projections.map((p) => p.name)).toEqual(['ledger', 'pendingItems', 'sessions', 'transactions', 'audit', 'peers']);
    expect([two.events, two.sessions, two.snapshotsChecked, two.snapshotsUnchecked]).toEqual([one.events, one.sessions, one.snapshotsChecked, one.snapshotsUnchecked]);
    expect(two.snapshotsChecked).toBe(3 * 6);
    const tail = await replay(log, { ...parallel(path), fromCheckpoint: 1 });
    expect(tail.ok).toBe(true);
    expect(tail.projections).toEqual(one.projections);
    await log.close();
  });

  it('does the worker\'s share on this thread when the worker cannot open the log', async () => {
    const { log, path } = await fileLog();
    const one = await replay(log);
    // A path under a regular file: the worker's open fails (ENOTDIR) whoever runs the test.
    const broken = await replay(log, { parallel: { location: { kind: 'sqlite', path: join(path, 'not-a-dir', 'log.sqlite') }, guardian: 0 } });
    expect(broken.ok).toBe(true);
    expect(broken.projections).toEqual(one.projections);
    expect([broken.sessions, broken.snapshotsChecked]).toEqual([one.sessions, one.snapshotsChecked]);
    await log.close();
  });

  it('fails on an event that does not fit its schema as one thread does (the worker leaves validating to this thread)', async () => {
    const { log, path } = await fileLog();
    const first = (await readSessionItems(log, 0, { limit: 1 }))[0]!;
    await log.close();
    const db = new Database(path);
    const row = db.prepare("SELECT position FROM events WHERE type = 'ItemAccepted' ORDER BY position LIMIT 1 OFFSET 5").get() as { position: number };
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify({ session: 0, index: 5, peer: 0, item: 'not hex', itemHash: first.itemHash, netAssets: '0' }), row.position);
    db.close();
    const reopened = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
    await expect(replay(reopened)).rejects.toMatchObject({ name: 'CorruptEventError', position: BigInt(row.position) });
    await expect(replay(reopened, parallel(path))).rejects.toMatchObject({ name: 'CorruptEventError', position: BigInt(row.position) });
    await reopened.close();
  });

  it('reports what the worker finds: a ledger snapshot that differs and an item the ledger would not reproduce', async () => {
    const { log, path } = await fileLog();
    const good = (await readSnapshots(log, 'ledger')).at(-1)!;
    const state = { config: null, ledger: null, audit: { modules: [], netAssets: '0' }, lastItem: null };
    await log.append(streams.checkpoint('ledger'), [newEvent('SnapshotTaken', { ...good, session: 9, state, stateHash: stateHash(state) })]);
    const first = (await readSessionItems(log, 0, { limit: 1 }))[0]!;
    await log.append(streams.session(3), [newEvent('ItemAccepted', { session: 3, index: 0, peer: 0, item: first.item, itemHash: first.itemHash, netAssets: '0' })]);
    const one = await replay(log);
    const two = await replay(log, parallel(path));
    expect(two.ok).toBe(false);
    expect(two.snapshotMismatches).toBe(1);
    expect(two.problems).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'snapshot', projection: 'ledger', session: 9 })]));
    expect(two.problems.filter((p) => p.kind === 'projection').map((p) => p.kind === 'projection' && p.projection).sort()).toEqual(['audit', 'ledger']);
    expect([...two.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([...one.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    await log.close();
  });

  it('finds stored snapshots that do not hold their own hash, of either share, as one thread does (their own hashes are checked after the fold)', async () => {
    const { log, path } = await fileLog();
    await log.close();
    const db = new Database(path);
    const tampered: number[] = [];
    for (const stream of ['checkpoint-ledger', 'checkpoint-transactions', 'checkpoint-peers']) {
      const row = db.prepare('SELECT position, data FROM events WHERE stream = ? ORDER BY position LIMIT 1').get(stream) as { position: number; data: string };
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(row.data.replace(/"stateHash":"[0-9a-f]{64}"/, `"stateHash":"${'0'.repeat(64)}"`), row.position);
      tampered.push(row.position);
    }
    db.close();
    const reopened = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
    const one = await replay(reopened);
    const two = await replay(reopened, parallel(path));
    expect(two.snapshotMismatches).toBe(3);
    expect(two.problems.map((p) => (p.kind === 'snapshot' ? [p.projection, p.detail] : p.kind)).sort()).toEqual([
      ['ledger', 'stored state does not match its own state hash'],
      ['peers', 'stored state does not match its own state hash'],
      ['transactions', 'stored state does not match its own state hash'],
    ]);
    expect([...two.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([...one.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    expect([two.snapshotsChecked, two.snapshotsUnchecked]).toEqual([one.snapshotsChecked, one.snapshotsUnchecked]);
    await reopened.close();
  });

  it('reports an item the ledger would not reproduce in the middle of a page at that item, as one thread does (the worker folds the ledger in place)', async () => {
    const { log, path } = await fileLog();
    const items = await readSessionItems(log, 1);
    await log.close();
    // A later item of session 1 made a copy of its first: accepted twice, the ledger refuses it.
    const db = new Database(path);
    const rows = db.prepare("SELECT position, data FROM events WHERE type = 'ItemAccepted' AND stream = 'session-1' ORDER BY position").all() as Array<{ position: number; data: string }>;
    const victim = rows[Math.floor(rows.length / 2)]!;
    const data = JSON.parse(victim.data) as Record<string, unknown>;
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify({ ...data, item: items[0]!.item, itemHash: items[0]!.itemHash }), victim.position);
    db.close();
    const reopened = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
    const one = await replay(reopened);
    const two = await replay(reopened, parallel(path));
    const failures = two.problems.filter((p) => p.kind === 'projection');
    expect(failures.map((p) => [p.projection, p.position]).sort()).toEqual([
      ['audit', String(victim.position)],
      ['ledger', String(victim.position)],
    ]);
    expect(failures[0]!.detail).toContain('the ledger rejects it');
    expect([...two.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([...one.problems].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    // The projections that did not fail end in the same states on both.
    expect(two.projections.filter((p) => p.stateHash !== '')).toEqual(one.projections.filter((p) => p.stateHash !== ''));
    await reopened.close();
  });
});
