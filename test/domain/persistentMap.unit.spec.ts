import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyPersistentMap, persistentMapOf } from '../../src/domain/persistentMap.ts';

describe('persistent map', () => {
  it('behaves like a Map under random sets and deletes, and never changes older versions', () => {
    // Short keys from a small alphabet force hash collisions and deep branches.
    const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '0', '1'), maxLength: 4 });
    const opArb = fc.tuple(fc.boolean(), keyArb, fc.integer());
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        let map = emptyPersistentMap<number>();
        const model = new Map<string, number>();
        const versions: [typeof map, Map<string, number>][] = [];
        for (const [isSet, key, value] of ops) {
          map = isSet ? map.set(key, value) : map.delete(key);
          if (isSet) model.set(key, value);
          else model.delete(key);
          versions.push([map, new Map(model)]);
        }
        for (const [version, snapshot] of versions) {
          expect(version.size).toBe(snapshot.size);
          expect(new Map(version.entries())).toEqual(snapshot);
          for (const key of ['', 'a', 'ab', 'c01']) expect(version.get(key)).toBe(snapshot.get(key));
        }
        expect(map.sortedEntries()).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      }),
      { seed: 99, numRuns: 300 },
    );
  });

  it('returns itself when nothing changes', () => {
    const map = persistentMapOf([['x', 1]]);
    expect(map.set('x', 1)).toBe(map);
    expect(map.delete('y')).toBe(map);
    expect(map.has('x') && !map.has('y')).toBe(true);
  });

  it('holds 100,000 hex keys', () => {
    let map = emptyPersistentMap<number>();
    for (let i = 0; i < 100_000; i++) map = map.set(i.toString(16).padStart(64, '0'), i);
    expect(map.size).toBe(100_000);
    expect(map.get((77_777).toString(16).padStart(64, '0'))).toBe(77_777);
  });
});
