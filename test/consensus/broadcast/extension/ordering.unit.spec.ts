import { describe, expect, it } from 'vitest';
import { createReconstruction, type ReconstructedUnit } from '../../../../src/consensus/broadcast/dag/reconstruction.ts';
import { commonVote } from '../../../../src/consensus/broadcast/extension/election.ts';
import { createExtender, orderDag } from '../../../../src/consensus/broadcast/extension/extender.ts';
import { seededRandom } from '../../../../src/domain/seededRandom.ts';
import { decodeUnit, withHash, type HashedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { createSimulation } from '../support/simulation.ts';

/** A real DAG: the backup of one node after a seeded run (parents first, every unit it used). */
async function recordedDag(n: number, seed: number, units: number): Promise<HashedUnit[]> {
  const sim = createSimulation({ n, seed, network: { latency: { min: 1, max: 30 } } });
  for (let i = 0; i < n; i++) sim.start(i);
  await sim.runUntilOrdered(units, [0], 60_000);
  sim.stopAll();
  return sim.peers[0]!.backup.map((raw) => {
    const decoded = decodeUnit(raw);
    if (!decoded.ok) throw new Error('backup does not decode');
    return withHash(decoded.value);
  });
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Feeds units in any order; reconstruction holds each back until its parents arrived. */
function orderArrivals(n: number, arrivals: readonly HashedUnit[]): string[] {
  const reconstruction = createReconstruction();
  const extender = createExtender<ReconstructedUnit>(n);
  const out: string[] = [];
  for (const unit of arrivals) {
    for (const ready of reconstruction.add(unit).units) for (const batch of extender.add(ready)) out.push(...batch.map((u) => u.hash));
  }
  return out;
}

describe('ordering is a pure function of the DAG', () => {
  it('gives the same ordered output for 8 shuffled arrival orders of one DAG', async () => {
    const n = 7;
    const dag = await recordedDag(n, 5, 120);
    const reference = orderArrivals(n, dag);
    expect(reference.length).toBeGreaterThan(100);
    const random = seededRandom(2024);
    for (let k = 0; k < 8; k++) {
      const shuffled = shuffle(dag, random);
      expect(shuffled.map((u) => u.hash)).not.toEqual(dag.map((u) => u.hash));
      expect(orderArrivals(n, shuffled)).toEqual(reference);
    }
  });

  it('outputs every unit at most once and parents before children', async () => {
    const n = 4;
    const dag = await recordedDag(n, 9, 60);
    const reconstruction = createReconstruction();
    const units = dag.flatMap((u) => reconstruction.add(u).units);
    const ordered = orderDag(n, units);
    const position = new Map(ordered.map((u, i) => [u.hash, i]));
    expect(position.size).toBe(ordered.length);
    for (const unit of ordered) {
      for (const parent of unit.parents) if (parent !== null) expect(position.get(parent)).toBeLessThan(position.get(unit.hash)!);
    }
  });

  it('waits for a unit of round r + 3 before electing the head of round r', async () => {
    const n = 4;
    const dag = await recordedDag(n, 3, 40);
    const reconstruction = createReconstruction();
    const units = dag.flatMap((u) => reconstruction.add(u).units);
    const upToRound2 = units.filter((u) => u.round <= 2);
    expect(orderDag(n, upToRound2)).toEqual([]);
    const upToRound4 = units.filter((u) => u.round <= 4);
    const firstBatch = orderDag(n, upToRound4);
    expect(firstBatch.length).toBeGreaterThan(0);
    expect(firstBatch.every((u) => u.round === 0)).toBe(true);
  });

  it('uses the common vote schedule true, false, true, then alternating from true', () => {
    expect([2, 3, 4, 5, 6, 7, 8].map(commonVote)).toEqual([true, false, true, true, false, true, false]);
  });
});
