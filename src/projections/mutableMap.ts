/**
 * A PersistentMap that changes in place: `set` and `delete` update this map and return it. For a
 * fold whose past states nobody reads again (replay's ledger, see projections/ledgerFold.ts): every
 * state of such a fold shares the one map, so only its newest state is valid.
 *
 * The ledger's large maps are keyed by the hex of digests (a txid, a note's "txid:index"), and
 * replay makes several updates of them per accepted item. A native Map walks its bucket chains
 * through scattered memory; here the table is open addressing with linear probing over an
 * Int32Array of hashes, the keys and values in arrays beside it, at most half full. Deleting
 * shifts the following entries of the run back (no tombstones).
 *
 * A key's hash covers the whole key under a seed of the map's own (mapKeys.ts's seededKeyHash):
 * clients grind txids, and keys sharing their first digits (2^16 hashes buy 4 shared digits), or
 * a transaction's outputs, which share their whole txid, would otherwise share a probe run and
 * cost O(N) each. Only the sorted walks are read by anything that must be deterministic, and
 * they do not depend on the seed.
 */
import { randomInt } from 'node:crypto';
import { seededKeyHash } from '../domain/mapKeys.ts';
import type { PersistentMap } from '../domain/persistentMap.ts';

const INITIAL_SLOTS = 16;

export class MutableMap<V> implements PersistentMap<V> {
  private hashes = new Int32Array(INITIAL_SLOTS);
  private keys: (string | undefined)[] = new Array<string | undefined>(INITIAL_SLOTS).fill(undefined);
  private values: (V | undefined)[] = new Array<V | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  private lastKey: string | undefined = undefined;
  private lastHash = 0;

  /** `seed` is secret unless a spec fixes it: a key set cannot be ground against a seed its grinder does not know. */
  constructor(
    entries: Iterable<readonly [string, V]> = [],
    private readonly seed = randomInt(2 ** 32),
  ) {
    for (const [key, value] of entries) this.set(key, value);
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const slot = this.slotOf(key, this.keyHash(key));
    return this.keys[slot] === undefined ? undefined : this.values[slot];
  }

  has(key: string): boolean {
    return this.keys[this.slotOf(key, this.keyHash(key))] !== undefined;
  }

  set(key: string, value: V): PersistentMap<V> {
    const hash = this.keyHash(key);
    let slot = this.slotOf(key, hash);
    if (this.keys[slot] === undefined) {
      if (2 * (this.count + 1) > this.mask + 1) {
        this.grow();
        slot = this.slotOf(key, hash);
      }
      this.keys[slot] = key;
      this.hashes[slot] = hash;
      this.count++;
    }
    this.values[slot] = value;
    return this;
  }

  delete(key: string): PersistentMap<V> {
    const { keys, values, hashes, mask } = this;
    let hole = this.slotOf(key, this.keyHash(key));
    if (keys[hole] === undefined) return this;
    this.count--;
    // Backward shift: each following entry of the run whose home slot is not between the hole
    // and itself (cyclically) moves into the hole, which moves on to where it was.
    for (let next = (hole + 1) & mask; keys[next] !== undefined; next = (next + 1) & mask) {
      const home = hashes[next]! & mask;
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (stays) continue;
      keys[hole] = keys[next];
      values[hole] = values[next];
      hashes[hole] = hashes[next]!;
      hole = next;
    }
    keys[hole] = undefined;
    values[hole] = undefined;
    return this;
  }

  *entries(): IterableIterator<[string, V]> {
    for (let slot = 0; slot <= this.mask; slot++) {
      const key = this.keys[slot];
      if (key !== undefined) yield [key, this.values[slot]!];
    }
  }

  sortedEntries(): [string, V][] {
    return [...this.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  sortedKeys(): string[] {
    const keys: string[] = [];
    for (const key of this.keys) if (key !== undefined) keys.push(key);
    return keys.sort();
  }

  /** The farthest any key sits from its hash's slot: what a lookup may scan (for specs). */
  longestProbe(): number {
    let longest = 0;
    for (let slot = 0; slot <= this.mask; slot++) {
      if (this.keys[slot] !== undefined) longest = Math.max(longest, (slot - this.hashes[slot]!) & this.mask);
    }
    return longest;
  }

  /** seededKeyHash as an int32, as the Int32Array of hashes holds it; the last key's is kept, as a lookup and an update of one key come in pairs. */
  private keyHash(key: string): number {
    if (key !== this.lastKey) {
      this.lastHash = seededKeyHash(key, this.seed) | 0;
      this.lastKey = key;
    }
    return this.lastHash;
  }

  /** The slot holding `key`, else the empty slot ending its run (where it would go). */
  private slotOf(key: string, hash: number): number {
    const { keys, hashes, mask } = this;
    let slot = hash & mask;
    for (;;) {
      const held = keys[slot];
      if (held === undefined || (hashes[slot] === hash && held === key)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const { keys, values, hashes } = this;
    const slots = 2 * keys.length;
    this.hashes = new Int32Array(slots);
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.values = new Array<V | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot];
      if (key === undefined) continue;
      let to = hashes[slot]! & this.mask;
      while (this.keys[to] !== undefined) to = (to + 1) & this.mask;
      this.keys[to] = key;
      this.values[to] = values[slot];
      this.hashes[to] = hashes[slot]!;
    }
  }
}

/** A mutable copy of `map`. */
export function mutableCopy<V>(map: PersistentMap<V>): MutableMap<V> {
  return new MutableMap(map.entries());
}
