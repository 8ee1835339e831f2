import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptySortedHexMap, sortedHexMapOf, type SortedHexMap } from '../../src/projections/sortedHexMap.ts';

// Few distinct keys sharing long prefixes, so that tries split deep and deletes collapse branches.
const key = fc.tuple(fc.constantFrom('', '0', '00', 'f', 'a0', '9f'), fc.nat({ max: 40 })).map(([prefix, n]) => (prefix + n.toString(16)).padEnd(64, '0'));
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), key }),
);
const sorted = (model: Map<string, number>) => [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('sortedHexMap', () => {
  it('behaves as a Map whose entries come out in key order, persistent and transient alike', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.nat({ max: 80 }), (ops, cut) => {
        const model = new Map<string, number>();
        let persistent: SortedHexMap<number> = emptySortedHexMap();
        const versions: Array<[SortedHexMap<number>, [string, number][]]> = [];
        // The same operations through a transient, ended at `cut` and started again from its result.
        let transient = emptySortedHexMap<number>().transient();
        ops.forEach((o, i) => {
          if (i === cut) transient = transient.persistent().transient();
          if (o.kind === 'set') {
            model.set(o.key, o.value);
            persistent = persistent.set(o.key, o.value);
            transient.set(o.key, o.value);
          } else {
            model.delete(o.key);
            persistent = persistent.delete(o.key);
            transient.delete(o.key);
          }
          versions.push([persistent, sorted(model)]);
          expect(transient.size).toBe(model.size);
        });
        const fromTransient = transient.persistent();
        for (const map of [persistent, fromTransient]) {
          expect(map.size).toBe(model.size);
          expect(map.sortedEntries()).toEqual(sorted(model));
          for (const [k, v] of model) expect(map.get(k)).toBe(v);
        }
        // Every earlier version is untouched by later updates.
        for (const [version, entries] of versions) expect(version.sortedEntries()).toEqual(entries);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('leaves the map a transient came from untouched, and refuses updates after persistent()', () => {
    const base = sortedHexMapOf([['1'.repeat(64), 1], ['2'.repeat(64), 2]]);
    const transient = base.transient();
    transient.set('3'.repeat(64), 3);
    transient.delete('1'.repeat(64));
    transient.set('2'.repeat(64), 20);
    const result = transient.persistent();
    expect(base.sortedEntries()).toEqual([['1'.repeat(64), 1], ['2'.repeat(64), 2]]);
    expect(result.sortedEntries()).toEqual([['2'.repeat(64), 20], ['3'.repeat(64), 3]]);
    expect(() => transient.set('4'.repeat(64), 4)).toThrow(/after persistent/);
    // A second transient of the result does not change the first result either.
    const again = result.transient();
    again.set('0'.repeat(64), 0);
    expect(result.size).toBe(2);
    expect(again.persistent().size).toBe(3);
  });

  it('refuses keys of another length, and digits that are not lowercase hex where it reads them', () => {
    const one = emptySortedHexMap<number>().set('0'.repeat(64), 0);
    expect(() => one.set('ab', 1)).toThrow(TypeError);
    expect(() => one.set('A'.repeat(64), 1)).toThrow(TypeError);
    expect(() => one.set('0'.repeat(63) + 'G', 1)).toThrow(TypeError);
    expect(one.get('zz')).toBeUndefined();
  });
});
