import { describe, expect, it } from 'vitest';
import { createReconstruction } from '../../../../src/consensus/broadcast/dag/reconstruction.ts';
import { combinedHash, withHash, type HashedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { seededRandom } from '../../../../src/domain/seededRandom.ts';

const n = 4;

/** Every creator's unit of every round, each naming all units one round below (no signatures: reconstruction does not check them). */
function fullDag(rounds: number): HashedUnit[][] {
  const layers: HashedUnit[][] = [];
  for (let round = 0; round < rounds; round++) {
    const below = layers[round - 1];
    layers.push(
      Array.from({ length: n }, (_, creator) =>
        withHash({
          preUnit: {
            creator,
            round,
            session: 1n,
            controlHash: { parents: below === undefined ? Array(n).fill(undefined) : below.map(() => round - 1), combinedHash: combinedHash(below?.map((u) => u.hash) ?? []) },
            data: new Uint8Array([round & 0xff]),
          },
          signature: new Uint8Array(64),
        }),
      ),
    );
  }
  return layers;
}

describe('reconstruction', () => {
  it('resolves 5,000 rounds of waiting units in one call when the first round arrives last', () => {
    const layers = fullDag(5_001);
    const reconstruction = createReconstruction();
    for (let round = layers.length - 1; round >= 1; round--) {
      for (const unit of layers[round]!) expect(reconstruction.add(unit).units).toEqual([]);
    }
    const resolved: string[] = [];
    for (const unit of layers[0]!) resolved.push(...reconstruction.add(unit).units.map((u) => u.hash));

    expect(resolved.length).toBe(5_001 * n);
    const position = new Map(resolved.map((hash, i) => [hash, i]));
    const childBeforeParent = layers.flat().filter((unit) => reconstruction.get(unit.hash)!.parents.some((p) => p !== null && position.get(p)! > position.get(unit.hash)!));
    expect(childBeforeParent).toEqual([]);
    expect(layers.flat().filter((u) => reconstruction.isWaiting(u.hash))).toEqual([]);
  });

  it('gives the same parents whatever order the units arrive in (seeded shuffle)', () => {
    const layers = fullDag(30);
    const units = layers.flat();
    const random = seededRandom(17);
    const shuffled = [...units];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const reconstruction = createReconstruction();
    const order: string[] = [];
    for (const unit of shuffled) order.push(...reconstruction.add(unit).units.map((u) => u.hash));
    expect(new Set(order).size).toBe(units.length);
    const position = new Map(order.map((hash, i) => [hash, i]));
    for (const unit of units.filter((u) => u.unit.preUnit.round > 0)) {
      const parents = reconstruction.get(unit.hash)!.parents;
      expect(parents).toEqual(layers[unit.unit.preUnit.round - 1]!.map((u) => u.hash));
      for (const parent of parents) expect(position.get(parent!)!).toBeLessThan(position.get(unit.hash)!);
    }
  });
});
