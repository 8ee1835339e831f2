import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MutableMap, mutableCopy } from '../../src/projections/mutableMap.ts';
import { emptyPersistentMap, type PersistentMap } from '../../src/domain/persistentMap.ts';

describe('MutableMap', () => {
  it('changes in place and answers as a persistent map given the same updates', () => {
    // Short keys (hashed whole), digest-like keys sharing a few prefixes (long probe runs, moves on delete), and others.
    const key = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{4}(:[0-9])?$/),
      fc.tuple(fc.constantFrom('00000000', '00000001', 'ffffffff', '0000000f'), fc.stringMatching(/^[0-9a-f]{0,3}(:[0-9])?$/)).map(([prefix, rest]) => prefix + rest),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.integer()), { maxLength: 300 }), (updates) => {
        let persistent: PersistentMap<number> = emptyPersistentMap('digest');
        const mutable = new MutableMap<number>();
        for (const [remove, k, v] of updates) {
          persistent = remove ? persistent.delete(k) : persistent.set(k, v);
          expect(remove ? mutable.delete(k) : mutable.set(k, v)).toBe(mutable);
        }
        expect(mutable.size).toBe(persistent.size);
        expect(mutable.sortedEntries()).toEqual(persistent.sortedEntries());
        expect(mutable.sortedKeys()).toEqual(persistent.sortedKeys());
        for (const [, k] of updates) expect([mutable.has(k), mutable.get(k)]).toEqual([persistent.has(k), persistent.get(k)]);
        expect([...mutable.entries()].length).toBe(persistent.size);
      }),
      { seed: 77, numRuns: 300 },
    );
  });

  it('copies a persistent map, which later changes to the copy leave untouched', () => {
    const persistent = emptyPersistentMap<string>().set('b', 'x').set('a', 'y');
    const copy = mutableCopy(persistent);
    copy.set('c', 'z').delete('a');
    expect(copy.sortedEntries()).toEqual([
      ['b', 'x'],
      ['c', 'z'],
    ]);
    expect(persistent.sortedEntries()).toEqual([
      ['a', 'y'],
      ['b', 'x'],
    ]);
  });
});
