import { describe, expect, it } from 'vitest';
import { createSimulation, hashes, prefixConsistent } from '../support/simulation.ts';

const all = [0, 1, 2, 3];

describe('catching up', () => {
  it('a node 500 rounds behind (20 ms rounds) catches up within a second of virtual time', async () => {
    const sim = createSimulation({ n: 4, seed: 111, network: { latency: { min: 1, max: 4 } }, config: { roundDelayMs: 20, roundsPerSession: 20_000 } });
    for (const i of all) sim.start(i);
    await sim.clock.runFor(100);
    sim.net.partition([[0, 1, 2], [3]]);
    expect(await sim.clock.runUntil(() => sim.peers[0]!.node!.status().round >= 500, 100_000)).toBe(true);
    const lagging = sim.peers[3]!;
    expect(lagging.node!.status().round).toBeLessThan(20);
    sim.net.heal();
    const healedAt = sim.clock.now();
    const caughtUp = () => lagging.node!.status().dagSize >= sim.peers[0]!.node!.status().dagSize - 8;
    // Before: one request per missing unit, after a wait, to one peer: 20-25 s for this lag.
    expect(await sim.clock.runUntil(caughtUp, 1_000)).toBe(true);
    const took = sim.clock.now() - healedAt;
    const target = sim.peers[0]!.output.length + 20;
    expect(await sim.runUntilOrdered(target, all, 5_000)).toBe(true);
    const status = lagging.node!.status();
    sim.stopAll();
    expect(took).toBeLessThan(1_000);
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    expect(hashes(lagging.output.slice(0, target))).toEqual(hashes(sim.peers[0]!.output.slice(0, target)));
    // About one request per unit fetched (some asked twice when a first answer was slow), not a storm.
    expect(status.requestsSent).toBeLessThan(2 * status.dagSize);
  });
});
