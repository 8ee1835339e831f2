import { describe, expect, it } from 'vitest';
import { MutableMap } from '../../src/projections/mutableMap.ts';
import { persistentMapOf } from '../../src/domain/persistentMap.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { fnvMulticollision, keysWithPrefix, shuffled } from '../domain/mapKeysFixture.ts';

// A table at most half full whose hashes spread like random ones has probe runs of a few dozen
// slots at these sizes; keys piled onto one run would sit thousands of slots from home.
const LONGEST_PROBE = 64;
const SEEDS = [1, 2, 3, 0xdeadbeef];

/** Inserts `keys` in a seeded order, deletes a seeded half, and checks probe runs, lookups and the sorted walk. */
function checkCollidingKeys(keys: readonly string[], seed: number, tableSeed: number): void {
  const random = seededRandom(seed);
  const map = new MutableMap<number>([], tableSeed);
  const model = new Map<string, number>();
  for (const [i, key] of shuffled(keys, random).entries()) {
    map.set(key, i);
    model.set(key, i);
  }
  expect(map.longestProbe()).toBeLessThanOrEqual(LONGEST_PROBE);
  for (const key of shuffled(keys, random).slice(0, keys.length >>> 1)) {
    map.delete(key);
    model.delete(key);
  }
  expect(map.longestProbe()).toBeLessThanOrEqual(LONGEST_PROBE);
  expect(map.size).toBe(model.size);
  for (const key of keys) expect(map.get(key)).toBe(model.get(key));
  expect(map.sortedEntries()).toEqual(persistentMapOf(model, 'digest').sortedEntries());
}

describe('MutableMap under keys a client grinds', () => {
  const random = seededRandom(2026);
  const cases: Array<[string, string[]]> = [
    ['20,000 txids sharing their first 4 hex digits', keysWithPrefix(20_000, 'dead', random)],
    ['20,000 txids sharing their first 8 hex digits', keysWithPrefix(20_000, 'deadbeef', random)],
    ['20,000 txids sharing their first 16 hex digits', keysWithPrefix(20_000, 'deadbeef01234567', random)],
    ['the 1,000 outputs of each of 20 txids sharing their first 8 digits', keysWithPrefix(20, 'deadbeef', random).flatMap((txid) => Array.from({ length: 1_000 }, (_, i) => `${txid}:${i}`))],
    ['16,384 text keys with one FNV-1a hash', fnvMulticollision(14, random)],
  ];
  for (const [name, keys] of cases) {
    it(`keeps ${name} in short probe runs under any table seed, every lookup found`, () => {
      for (const [i, tableSeed] of SEEDS.entries()) checkCollidingKeys(keys, i, tableSeed);
    });
  }

  it('answers alike under different table seeds: only where keys sit depends on the seed', () => {
    const keys = keysWithPrefix(2_000, 'deadbeef', seededRandom(9));
    const maps = SEEDS.map((seed) => new MutableMap(keys.map((key, i) => [key, i] as const), seed));
    for (const map of maps) expect(map.sortedEntries()).toEqual(maps[0]!.sortedEntries());
    expect(new Set(maps.map((map) => [...map.entries()][0]![0])).size).toBeGreaterThan(1);
  });
});
