import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/seededRandom.ts';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

describe('random crashes, restarts and partitions', () => {
  it.each([201, 202, 203, 204])('seed %i: outputs agree and no node ever creates two units in one round', async (seed) => {
    const n = 4;
    const random = seededRandom(seed);
    const sim = createSimulation({ n, seed, asyncSaver: true, network: { latency: { min: 1, max: 20 }, loss: 0.05 } });
    for (let i = 0; i < n; i++) sim.start(i);
    for (let k = 0; k < 6; k++) {
      await sim.clock.runFor(100 + random() * 300);
      const victims = random() < 0.5 ? [Math.floor(random() * n)] : [0, 1, 2, 3].filter(() => random() < 0.5);
      for (const v of victims) sim.crash(v);
      await sim.clock.runFor(random() * 200);
      if (random() < 0.3) {
        sim.net.partition([
          [0, 1],
          [2, 3],
        ]);
        await sim.clock.runFor(200);
        sim.net.heal();
      }
      for (const v of victims) sim.start(v);
    }
    const target = Math.max(...sim.peers.map((p) => p.output.length)) + 30;
    expect(await sim.runUntilOrdered(target, [0, 1, 2, 3], 60_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    for (const peer of sim.peers) {
      for (const [round, created] of peer.created) expect({ round, created: created.length }).toEqual({ round, created: 1 });
      expect(peer.events.some((e) => e.kind === 'creationHalted')).toBe(false);
    }
  });
});
