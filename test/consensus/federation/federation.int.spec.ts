import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../../src/domain/hashing.ts';
import { streams } from '../../../src/streams/events.ts';
import { headers, testFederation, until } from './federationFixture.ts';
import { KEYS } from '../engine/scriptedOrdering.ts';

const deposit = (n: number) => ({ depositId: n.toString(16).padStart(64, '0'), amount: 10_000n, recipient: bytesToHex(KEYS.get(0)!) });

describe('a federation of four over the broadcast ordering (in-memory links, seeded)', () => {
  it('agrees on every session: items proposed by different guardians are accepted once, headers identical, a threshold of signatures', async () => {
    const federation = testFederation({ seed: 1 });
    await Promise.all([0, 1, 2, 3].map((peer) => federation.start(peer)));
    const [g0, g1, g2, g3] = federation.guardians.map((g) => g!);
    // A deposit is confirmed when threshold (3) guardians observed it: each proposes its own item.
    for (const guardian of [g0!, g1!, g2!]) expect((await guardian.engine.observeDeposit(deposit(1))).kind).toBe('queued');
    await until(() => federation.guardians.every((g) => g!.engine.currentSession() >= 3));
    await federation.stopAll();
    const all = await Promise.all([g0!, g1!, g2!, g3!].map((g) => headers(g.log, 3)));
    expect(all[0]!.every((h) => h !== undefined)).toBe(true);
    for (const other of all.slice(1)) expect(other).toEqual(all[0]);
    for (const guardian of [g0!, g1!, g2!, g3!]) {
      const accepted = [];
      for (let session = 0; session < 3; session++) {
        const events = await guardian.log.readStream(streams.session(session));
        accepted.push(...events.filter((e) => e.type === 'ItemAccepted'));
        const completed = events.find((e) => e.type === 'SessionCompleted')!.data as { signatures: Record<string, string> };
        expect(Object.keys(completed.signatures).length).toBeGreaterThanOrEqual(3);
      }
      expect(accepted.map((e) => (e.data as { peer: number }).peer).sort()).toEqual([0, 1, 2]);
      // dag-<i> is a backup of an open session only: gone once the session completed.
      expect(await guardian.log.readStream(streams.dag(0))).toEqual([]);
      expect((await guardian.log.readStream(streams.session(0))).some((e) => e.type === 'UnitOrdered')).toBe(true);
    }
  }, 60_000);
});

describe('a federation of four surviving faults (in-memory links, seeded)', () => {
  it('keeps completing sessions with one guardian down, and the restarted guardian catches up and agrees', async () => {
    const federation = testFederation({ seed: 2 });
    await Promise.all([0, 1, 2, 3].map((peer) => federation.start(peer)));
    await until(() => federation.guardians.every((g) => g!.engine.currentSession() >= 1));
    federation.hub.cut(3);
    const down = await federation.stop(3);
    const at = federation.guardians[0]!.engine.currentSession();
    await until(() => [0, 1, 2].every((peer) => federation.guardians[peer]!.engine.currentSession() >= at + 2));
    federation.hub.restore(3);
    const back = await federation.start(3, down);
    const target = federation.guardians[0]!.engine.currentSession() + 1;
    await until(() => back.engine.currentSession() >= target);
    const logs = federation.guardians.map((g) => g!.log);
    await federation.stopAll();
    const all = await Promise.all(logs.map((log) => headers(log, target)));
    expect(all[3]!.every((h) => h !== undefined)).toBe(true);
    for (const other of all.slice(1)) expect(other).toEqual(all[0]);
  }, 90_000);

  it('stops completing sessions with two guardians down (> f), signs nothing conflicting, and resumes when they return', async () => {
    const federation = testFederation({ seed: 3 });
    await Promise.all([0, 1, 2, 3].map((peer) => federation.start(peer)));
    await until(() => federation.guardians.every((g) => g!.engine.currentSession() >= 1));
    federation.hub.cut(2);
    federation.hub.cut(3);
    const logs = [await federation.stop(2), await federation.stop(3)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalled = federation.guardians[0]!.engine.currentSession();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(federation.guardians[0]!.engine.currentSession()).toBe(stalled);
    expect(federation.guardians[1]!.engine.currentSession()).toBe(stalled);
    federation.hub.restore(2);
    federation.hub.restore(3);
    await federation.start(2, logs[0]);
    await federation.start(3, logs[1]);
    await until(() => federation.guardians.every((g) => g!.engine.currentSession() >= stalled + 1));
    const all = federation.guardians.map((g) => g!.log);
    await federation.stopAll();
    const seen = await Promise.all(all.map((log) => headers(log, stalled + 1)));
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  }, 90_000);

  it('rebuilds a wiped guardian from its peers\' signed outcomes (source: peer) and then joins the current session', async () => {
    const federation = testFederation({ seed: 4 });
    await Promise.all([0, 1, 2, 3].map((peer) => federation.start(peer)));
    for (const peer of [0, 1, 2]) await federation.guardians[peer]!.engine.observeDeposit(deposit(7));
    await until(() => federation.guardians.every((g) => g!.engine.currentSession() >= 2));
    federation.hub.cut(1);
    await federation.stop(1);
    federation.hub.restore(1);
    // A fresh, empty log: everything this guardian knew is gone.
    const wiped = await federation.start(1);
    const target = federation.guardians[0]!.engine.currentSession() + 1;
    await until(() => wiped.engine.currentSession() >= target);
    const logs = federation.guardians.map((g) => g!.log);
    await federation.stopAll();
    const all = await Promise.all(logs.map((log) => headers(log, target)));
    expect(all[1]).toEqual(all[0]);
    const rebuilt = await wiped.log.readStream(streams.session(0));
    expect(rebuilt.find((e) => e.type === 'SessionCompleted')!.data).toMatchObject({ source: 'peer' });
  }, 90_000);
});
