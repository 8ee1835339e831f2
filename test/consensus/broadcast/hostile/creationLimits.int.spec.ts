import { describe, expect, it } from 'vitest';
import { maxRound } from '../../../../src/consensus/broadcast/config.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';

const all = [0, 1, 2, 3];

describe('unit creation', () => {
  it('creates rounds 0 .. roundsPerSession + 999 and not one more, as AlephBFT stops', async () => {
    const roundsPerSession = 5;
    // 1 ms rounds growing 1.02x per round after round 5: about 2e10 ms of virtual time. No rebroadcasts
    // in between, so the virtual clock can jump from one round to the next.
    const sim = createSimulation({ n: 4, seed: 141, network: { latency: { min: 0, max: 1 } }, config: { roundDelayMs: 1, roundsPerSession, rebroadcastMs: 1e13 } });
    for (const i of all) sim.start(i);
    const finished = () => sim.peers.every((p) => p.node!.status().creation === 'finished');
    expect(await sim.clock.runUntil(finished, 1e12)).toBe(true);
    await sim.clock.runFor(1e11);
    const last = maxRound({ roundsPerSession });
    expect(last).toBe(1004);
    for (const peer of sim.peers) {
      const rounds = [...peer.created.keys()];
      expect(Math.max(...rounds)).toBe(last);
      expect(rounds).toHaveLength(last + 1);
      expect(peer.node!.status().round).toBe(last);
    }
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
  });

  it('waits each round delay times a seeded random factor in [0.5, 1.5)', async () => {
    const roundDelayMs = 20;
    const sim = createSimulation({ n: 4, seed: 142, network: { latency: { min: 0, max: 1 } }, config: { roundDelayMs } });
    for (const i of all) sim.start(i);
    expect(await sim.clock.runUntil(() => sim.peers.every((p) => p.created.size >= 80), 10_000)).toBe(true);
    sim.stopAll();
    const times = [...sim.peers[0]!.createdAt.entries()].sort(([a], [b]) => a - b).map(([, at]) => at);
    const intervals = times.slice(1).map((t, k) => t - times[k]!);
    // Before: every interval was the round delay itself (or shorter when the DAG was ahead).
    expect(Math.max(...intervals)).toBeGreaterThan(1.25 * roundDelayMs);
    expect(Math.max(...intervals)).toBeLessThan(1.5 * roundDelayMs + 2);
    expect(intervals.filter((i) => i < 0.75 * roundDelayMs).length).toBeGreaterThan(5);
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
  });
});
