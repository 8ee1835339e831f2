import { describe, expect, it } from 'vitest';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

const all = (n: number) => [...Array(n).keys()];

describe('crash recovery from the backup', () => {
  it('resumes after more than f nodes are killed and restarted; outputs agree; no round gets two own units', async () => {
    const n = 4;
    const sim = createSimulation({ n, seed: 21, asyncSaver: true, network: { latency: { min: 1, max: 10 } } });
    for (const i of all(n)) sim.start(i);
    expect(await sim.runUntilOrdered(40, all(n), 20_000)).toBe(true);

    // Two of four (> f = 1) die: the survivors cannot finish a round on their own.
    sim.crash(1);
    sim.crash(2);
    await sim.clock.runFor(300);
    const stalled = sim.peers[0]!.output.length;
    await sim.clock.runFor(500);
    expect(sim.peers[0]!.output.length).toBe(stalled);

    sim.start(1);
    sim.start(2);
    const target = stalled + 40;
    expect(await sim.runUntilOrdered(target, all(n), 30_000)).toBe(true);
    sim.stopAll();

    // The restarted nodes replay their backup and order again from the first unit: same sequence.
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    expect(sim.peers[1]!.output.length).toBeGreaterThanOrEqual(target);
    for (const peer of sim.peers) {
      for (const [round, created] of peer.created) expect({ round, created: created.length }).toEqual({ round, created: 1 });
      expect(peer.events.some((e) => e.kind === 'creationHalted')).toBe(false);
    }
    // Creation resumed after the newest own unit of the backup, not from round 0.
    const rounds = [...sim.peers[1]!.created.keys()].sort((a, b) => a - b);
    expect(rounds).toEqual(rounds.map((_, i) => i));
  });

  it('refuses to create units when peers know a newer own unit than the backup', async () => {
    const n = 4;
    const sim = createSimulation({ n, seed: 22, network: { latency: { min: 1, max: 10 } } });
    for (const i of all(n)) sim.start(i);
    expect(await sim.runUntilOrdered(40, all(n), 20_000)).toBe(true);
    sim.crash(3);
    // The disk lost the newest part of the backup.
    const peer = sim.peers[3]!;
    peer.backup.splice(Math.floor(peer.backup.length / 2));
    const createdBefore = [...peer.created.values()].flat().length;
    sim.start(3);
    await sim.clock.runFor(1_000);
    sim.stopAll();
    expect(peer.events.some((e) => e.kind === 'creationHalted')).toBe(true);
    expect([...peer.created.values()].flat().length).toBe(createdBefore);
    for (const [round, created] of peer.created) expect({ round, created: created.length }).toEqual({ round, created: 1 });
  });
});
