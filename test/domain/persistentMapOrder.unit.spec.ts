import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyPersistentMap, withTransientEdits, type PersistentMap } from '../../src/domain/persistentMap.ts';

// 64-digit txid keys, few and sharing long prefixes: many share their first 8 digits (one collision
// node), others split deep in the trie, and deletes collapse branches and collisions.
const txidKey = fc.tuple(fc.constantFrom('', '0', '00', '0000000', 'f', 'a0', '9f', 'ffffffff'), fc.nat({ max: 40 })).map(([prefix, n]) => (prefix + n.toString(16)).padEnd(64, '0'));
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: txidKey, value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), key: txidKey }),
);
type Op = { kind: 'set'; key: string; value: number } | { kind: 'delete'; key: string };

const sorted = (model: Map<string, number>) => [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const apply = (map: PersistentMap<number>, o: Op) => (o.kind === 'set' ? map.set(o.key, o.value) : map.delete(o.key));
/** The trie's own walk, not sortedEntries (which would sort a walk out of order). */
const walked = (map: PersistentMap<number>) => [...map.entries()];

describe('digest-keyed persistent map of txids (what the transactions projection keeps)', () => {
  it('walks in ascending key order after any sets and deletes, persistent or under transient edits, and keeps every older version', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.nat({ max: 80 }), (ops, cut) => {
        const model = new Map<string, number>();
        let persistent = emptyPersistentMap<number>('digest');
        const versions: Array<[PersistentMap<number>, [string, number][]]> = [];
        // The same operations in two pages of transient edits, the second starting from the first's result.
        const page = (from: PersistentMap<number>, list: readonly Op[]) =>
          withTransientEdits((edit) => {
            let map = edit.of(from);
            for (const o of list) map = apply(map, o);
            return map;
          });
        const firstPage = page(emptyPersistentMap<number>('digest'), ops.slice(0, cut));
        const firstPageEntries = walked(firstPage);
        const transient = page(firstPage, ops.slice(cut));
        for (const o of ops) {
          if (o.kind === 'set') model.set(o.key, o.value);
          else model.delete(o.key);
          persistent = apply(persistent, o);
          versions.push([persistent, sorted(model)]);
        }
        for (const map of [persistent, transient]) {
          expect(map.size).toBe(model.size);
          expect(walked(map)).toEqual(sorted(model));
          for (const [k, v] of model) expect(map.get(k)).toBe(v);
        }
        for (const [version, entries] of versions) expect(walked(version)).toEqual(entries);
        // The second page's edit did not change what the first page returned.
        expect(walked(firstPage)).toEqual(firstPageEntries);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
