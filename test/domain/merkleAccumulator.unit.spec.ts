import { describe, expect, it } from 'vitest';
import { header, merkleRoot, portableHashPair, sha256, sha256Concat, type HashPair } from '../../src/domain/hashing.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { createMerkleAccumulator } from '../../src/domain/merkleAccumulator.ts';

const leaf = (i: number) => sha256(new Uint8Array([i & 0xff, (i >> 8) & 0xff, 7]));

describe('the incremental merkle root', () => {
  it('equals the domain merkle root for every leaf count from 0 to 130, and 1000', () => {
    for (const n of [...Array.from({ length: 131 }, (_, i) => i), 1000]) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      const accumulator = createMerkleAccumulator(portableHashPair);
      for (const l of leaves) accumulator.add(l);
      expect(accumulator.count).toBe(n);
      expect(Buffer.from(accumulator.root()).toString('hex'), `${n} leaves`).toBe(Buffer.from(merkleRoot(leaves)).toString('hex'));
    }
  });

  it('can be read at any point and keeps accumulating, also when seeded with recorded leaves', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leaf(i));
    const accumulator = createMerkleAccumulator(portableHashPair, leaves.slice(0, 10));
    for (let n = 10; n < leaves.length; n++) {
      expect(accumulator.root()).toEqual(merkleRoot(leaves.slice(0, n)));
      accumulator.add(leaves[n]!);
    }
    expect(accumulator.root()).toEqual(merkleRoot(leaves));
  });

  it('builds the domain header from accepted-item leaves as replay adds them, for empty, single, odd and even sessions', () => {
    for (const count of [0, 1, 2, 3, 5, 8, 255, 256, 257, 600, 1025]) {
      const leaves = createMerkleAccumulator(portableHashPair);
      const items = Array.from({ length: count }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, count & 0xff));
      items.forEach((item, i) => leaves.add(acceptedItemHashOfEncoded(item, i % 300)));
      expect(leaves.count).toBe(count);
      const session = count * 1000 + 7;
      expect(leaves.header(session)).toEqual(header(session, items.map((item, i) => acceptedItemHashOfEncoded(item, i % 300))));
    }
  });

  it('hashes every inner node with the hash pair it was given, and nothing else', () => {
    const calls: number[] = [];
    const counting: HashPair = (left, right) => {
      calls.push(left.length + right.length);
      return sha256Concat(left, right);
    };
    const accumulator = createMerkleAccumulator(counting);
    for (let i = 0; i < 5; i++) accumulator.add(leaf(i));
    // Adding 5 leaves completes the subtrees (0,1), (2,3) and ((0,1),(2,3)); the root then pairs 4 with itself and joins.
    expect(calls).toHaveLength(3);
    expect(accumulator.root()).toEqual(merkleRoot(Array.from({ length: 5 }, (_, i) => leaf(i))));
    expect(calls).toHaveLength(6);
    expect(calls.every((bytes) => bytes === 64)).toBe(true);
  });
});
