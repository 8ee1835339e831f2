import { describe, expect, it } from 'vitest';
import { createSimulation, hashes, prefixConsistent } from '../support/simulation.ts';

const all = [0, 1, 2, 3];

describe('catching up a long lag', () => {
  // Before reconstruction used a work list, the ~thousands of rounds resolving at once when the
  // gap closed overflowed the stack (RangeError) and left the node stuck for the session.
  it('a node cut off for 5,000 rounds of 20 ms reconstructs them and orders what the others ordered', async () => {
    const sim = createSimulation({ n: 4, seed: 41, network: { latency: { min: 1, max: 4 } }, config: { roundDelayMs: 20, roundsPerSession: 20_000 } });
    for (const i of all) sim.start(i);
    await sim.clock.runFor(100);
    sim.net.partition([[0, 1, 2], [3]]);
    const lagging = sim.peers[3]!;
    const before = lagging.output.length;
    expect(await sim.clock.runUntil(() => sim.peers[0]!.node!.status().round >= 5_000, 300_000)).toBe(true);
    expect(lagging.output.length).toBeLessThan(before + 20);

    sim.net.heal();
    const target = sim.peers[0]!.output.length + 40;
    expect(await sim.runUntilOrdered(target, all, 300_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    expect(hashes(lagging.output.slice(0, target))).toEqual(hashes(sim.peers[0]!.output.slice(0, target)));
    // Back in step: the lagging node's own units are ordered again after the gap.
    expect(sim.peers[0]!.output.slice(target - 40).some((u) => u.creator === 3)).toBe(true);
  }, 120_000);
});
