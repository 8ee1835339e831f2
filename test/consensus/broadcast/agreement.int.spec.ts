import { describe, expect, it } from 'vitest';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

describe('broadcast agreement on the simulated network', () => {
  it.each([4, 7, 10])('n = %i honest nodes output the same total order', async (n) => {
    const sim = createSimulation({ n, seed: 11 * n, network: { latency: { min: 1, max: 15 } } });
    for (let i = 0; i < n; i++) sim.start(i);
    const target = 20 * n;
    const all = [...Array(n).keys()];
    expect(await sim.runUntilOrdered(target, all, 30_000)).toBe(true);
    sim.stopAll();
    const outputs = sim.peers.map((p) => p.output);
    expect(prefixConsistent(outputs)).toBe(true);
    // Every ordered unit is ordered once.
    for (const output of outputs) expect(new Set(output.map((u) => u.hash)).size).toBe(output.length);
    // Units of every creator get ordered.
    const creators = new Set(outputs[0]!.map((u) => u.creator));
    expect(creators.size).toBe(n);
  });
});
