/**
 * header(i)'s merkle root (DESIGN.md: duplicate the last node of an odd level), folded in leaf by
 * leaf as items are committed instead of all at once when the session closes: a busy session has
 * tens of thousands of leaves, and hashing them in one go held the event loop (and every API
 * request) for tens of milliseconds at each session boundary. Same root as `merkleRoot`. Replay
 * checks every stored header with it too: only a node per level is kept, never a session's leaves.
 */
import { u64BigEndian, type HashPair } from './hashing.ts';

export interface MerkleAccumulator {
  readonly count: number;
  add(leaf: Uint8Array): void;
  /** The root of the leaves added so far (32 zero bytes for none); the accumulator stays usable. */
  root(): Uint8Array;
  /** header(session) = u64_big_endian(session) || root() (DESIGN.md). */
  header(session: number): Uint8Array;
}

/**
 * `hashPair` must be sha256(left || right): `portableHashPair`, or a platform hash passed in by the
 * engine and replay (it runs once per accepted item, on the thread that serves the API).
 */
export function createMerkleAccumulator(hashPair: HashPair, leaves: readonly Uint8Array[] = []): MerkleAccumulator {
  // pending[level]: a completed node still waiting for its right sibling (a binary counter of subtrees).
  const pending: (Uint8Array | undefined)[] = [];
  let count = 0;
  const accumulator: MerkleAccumulator = {
    get count() {
      return count;
    },
    add(leaf) {
      count++;
      let node = leaf;
      let level = 0;
      for (let left = pending[level]; left !== undefined; left = pending[level]) {
        node = hashPair(left, node);
        pending[level] = undefined;
        level++;
      }
      pending[level] = node;
    },
    header(session) {
      const out = new Uint8Array(40);
      out.set(u64BigEndian(session), 0);
      out.set(accumulator.root(), 8);
      return out;
    },
    root() {
      if (count === 0) return new Uint8Array(32);
      // Close every level's unpaired tail bottom-up: an odd level pairs its last node with itself.
      let carry: Uint8Array | undefined;
      for (let level = 0, width = count; ; level++, width = Math.ceil(width / 2)) {
        const left = pending[level];
        if (width === 1) return (left ?? carry)!.slice();
        if (left !== undefined) carry = hashPair(left, carry ?? left);
        else if (carry !== undefined) carry = hashPair(carry, carry);
      }
    },
  };
  for (const leaf of leaves) accumulator.add(leaf);
  return accumulator;
}
