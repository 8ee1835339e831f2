import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/seededRandom.ts';
import { corruptSignatures, equivocate, garbageAndWithholding } from './support/byzantine.ts';
import { createHashSigner } from './support/hashSigner.ts';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

const all = (n: number) => [...Array(n).keys()];

describe('broadcast under faults', () => {
  it('keeps ordering with one of four nodes crashed', async () => {
    const sim = createSimulation({ n: 4, seed: 1, network: { latency: { min: 1, max: 10 } } });
    for (const i of [0, 1, 2]) sim.start(i);
    expect(await sim.runUntilOrdered(60, [0, 1, 2], 20_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.slice(0, 3).map((p) => p.output))).toBe(true);
    expect(sim.peers[0]!.output.some((u) => u.creator === 3)).toBe(false);
  });

  it('agrees with 10% message loss and duplicated, reordered messages', async () => {
    const sim = createSimulation({ n: 4, seed: 2, network: { latency: { min: 1, max: 40 }, loss: 0.1, duplication: 0.1 } });
    for (const i of all(4)) sim.start(i);
    expect(await sim.runUntilOrdered(80, all(4), 60_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    expect(sim.net.stats.dropped).toBeGreaterThan(0);
  });

  it('survives garbage bytes, truncated and withheld messages without crashing', async () => {
    const sim = createSimulation({ n: 4, seed: 3, network: { latency: { min: 1, max: 10 }, tamper: garbageAndWithholding(seededRandom(99), 0.05) } });
    for (const i of all(4)) sim.start(i);
    expect(await sim.runUntilOrdered(60, all(4), 60_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    const undecodable = sim.peers.reduce((sum, p) => sum + p.events.filter((e) => e.kind === 'rejected' && e.reason === 'undecodable').length, 0);
    expect(undecodable).toBeGreaterThan(0);
  });

  it('catches up a node after its partition heals', async () => {
    const sim = createSimulation({ n: 4, seed: 4, network: { latency: { min: 1, max: 10 } } });
    for (const i of all(4)) sim.start(i);
    await sim.clock.runFor(200);
    sim.net.partition([[0, 1, 2], [3]]);
    await sim.clock.runFor(1_000);
    const isolatedBefore = sim.peers[3]!.output.length;
    expect(sim.peers[0]!.output.length).toBeGreaterThan(isolatedBefore + 40);
    sim.net.heal();
    const healedAt = sim.peers[0]!.output.length;
    const target = healedAt + 20;
    expect(await sim.runUntilOrdered(target, all(4), 30_000)).toBe(true);
    // After healing, the isolated node's own units are ordered again.
    expect(await sim.clock.runUntil(() => sim.peers[0]!.output.slice(healedAt).some((u) => u.creator === 3), 2_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
  });

  it('rejects a corrupted signature on one link and obtains the unit from another peer', async () => {
    const sim = createSimulation({ n: 4, seed: 5, network: { latency: { min: 1, max: 10 }, tamper: corruptSignatures(0, 1) } });
    for (const i of all(4)) sim.start(i);
    expect(await sim.runUntilOrdered(60, all(4), 30_000)).toBe(true);
    sim.stopAll();
    const node1 = sim.peers[1]!;
    expect(node1.events.some((e) => e.kind === 'rejected' && e.from === 0 && e.reason === 'badSignature')).toBe(true);
    expect(node1.output.filter((u) => u.creator === 0).length).toBeGreaterThan(5);
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
  });

  it.each([
    [4, [3]],
    [7, [1, 5]],
    [10, [0, 4, 9]],
  ])('n = %i: forkers %j equivocate, honest nodes agree and commit alerts', async (n, forkers) => {
    const sim = createSimulation({ n, seed: 6 + n, network: { latency: { min: 1, max: 10 }, tamper: equivocate(forkers, n, (p) => createHashSigner(p, n)) } });
    const honest = all(n).filter((i) => !forkers.includes(i));
    for (const i of all(n)) sim.start(i);
    expect(await sim.runUntilOrdered(15 * n, honest, 30_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
    for (const i of honest) {
      const events = sim.peers[i]!.events;
      for (const forker of forkers) {
        expect(events.some((e) => e.kind === 'forkDetected' && e.forker === forker)).toBe(true);
        expect(events.some((e) => e.kind === 'alertCommitted' && e.forker === forker)).toBe(true);
      }
    }
  });
});
