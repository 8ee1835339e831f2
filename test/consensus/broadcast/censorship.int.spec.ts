import { describe, expect, it } from 'vitest';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

describe('censorship resistance', () => {
  it('orders every data item of a slow node exactly once', async () => {
    const n = 4;
    const slow = 3;
    const roundDelayMs = 20;
    const sim = createSimulation({
      n,
      seed: 31,
      config: { roundDelayMs },
      network: {
        latency: { min: 1, max: 5 },
        // Every link of the slow node takes 4 to 6 round delays.
        linkLatency: (from, to) => (from === slow || to === slow ? { min: 4 * roundDelayMs, max: 6 * roundDelayMs } : undefined),
      },
    });
    for (let i = 0; i < n; i++) sim.start(i);
    const slowPeer = sim.peers[slow]!;
    expect(await sim.clock.runUntil(() => slowPeer.dataGiven.length >= 20, 60_000)).toBe(true);
    const items = slowPeer.dataGiven.slice(0, 20);
    const fastRound = sim.peers[0]!.node!.status().round;
    const slowRound = slowPeer.node!.status().round;
    const orderedEverywhere = () =>
      sim.peers.every((p) => {
        const data = new Set(p.output.map((u) => new TextDecoder().decode(u.data)));
        return items.every((item) => data.has(item));
      });
    expect(await sim.clock.runUntil(orderedEverywhere, 60_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    for (const peer of sim.peers) {
      const data = peer.output.map((u) => new TextDecoder().decode(u.data));
      for (const item of items) expect(data.filter((d) => d === item)).toHaveLength(1);
    }
    // The fast nodes really were ahead of the slow one.
    expect(fastRound).toBeGreaterThan(slowRound + 2);
  });
});
