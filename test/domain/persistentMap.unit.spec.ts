import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyPersistentMap, hexKey, persistentMapOf, withTransientEdits, type MapKeys, type PersistentMap } from '../../src/domain/persistentMap.ts';

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
        expect(map.sortedKeys()).toEqual([...model.keys()].sort());
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

  // Digest-style keys: 8 hex digits (a few values, so prefixes collide) then a suffix, and some keys that are not hex at all.
  const digestKeyArb = fc.oneof(
    fc.tuple(fc.constantFrom('00000000', '0000001f', 'ffffffff', '8000a001', 'c0ffee00'), fc.constantFrom('', ':0', ':1', ':10', ':2', 'ab')).map(([a, b]) => a + b),
    fc.string({ unit: fc.constantFrom('a', 'G', '0', ':'), maxLength: 9 }),
  );

  for (const keys of ['text', 'digest'] as MapKeys[]) {
    it(`(${keys} keys) inside withTransientEdits behaves like a Map, leaves the starting version intact, and is immutable afterwards`, () => {
      const opArb = fc.tuple(fc.boolean(), digestKeyArb, fc.integer());
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 120 }), fc.array(opArb, { maxLength: 120 }), fc.array(opArb, { maxLength: 20 }), (before, during, after) => {
          const model = new Map<string, number>();
          const apply = (map: PersistentMap<number>, [isSet, key, value]: [boolean, string, number]) => {
            if (isSet) model.set(key, value);
            else model.delete(key);
            return isSet ? map.set(key, value) : map.delete(key);
          };
          let start = emptyPersistentMap<number>(keys);
          for (const op of before) start = apply(start, op);
          const startEntries = start.sortedEntries();
          const startSize = start.size;
          const result = withTransientEdits((edit) => {
            let map = edit.of(start);
            for (const op of during) map = apply(map, op);
            return map;
          });
          expect(start.size).toBe(startSize);
          expect(start.sortedEntries()).toEqual(startEntries);
          const atResult = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          expect(result.size).toBe(model.size);
          expect(result.sortedEntries()).toEqual(atResult);
          expect(result.sortedKeys()).toEqual(atResult.map(([key]) => key));
          for (const [key, value] of model) expect(result.get(key)).toBe(value);
          // Updates after the edit copy again: the result stays as it was.
          let later = result;
          for (const op of after) later = apply(later, op);
          expect(result.sortedEntries()).toEqual(atResult);
          expect(later.sortedEntries()).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        }),
        { seed: 7, numRuns: 300 },
      );
    });
  }

  it('a nested withTransientEdits has its own edit: neither changes what the other made, and an edit ends when its callback throws', () => {
    const start = persistentMapOf([['a', 1]]);
    expect(start.set('b', 2).set('c', 3)).not.toBe(start.set('b', 2)); // outside an edit every update copies
    withTransientEdits((edit) => {
      const outer = edit.of(start).set('b', 2);
      expect(outer.set('c', 3)).toBe(outer); // the outer edit's own version: changed in place
      const inner = withTransientEdits((innerEdit) => {
        const copy = innerEdit.of(outer).set('d', 4);
        expect(copy).not.toBe(outer);
        expect(copy.set('e', 5)).toBe(copy);
        return copy;
      });
      const after = outer.set('f', 6);
      expect(after).toBe(outer);
      expect(inner.sortedKeys()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(after.sortedKeys()).toEqual(['a', 'b', 'c', 'f']);
    });
    let escaped: PersistentMap<number> | undefined;
    expect(() =>
      withTransientEdits((edit) => {
        escaped = edit.of(start).set('x', 0);
        throw new Error('stop');
      }),
    ).toThrow('stop');
    // The edit is closed: a version made under it is immutable again.
    expect(escaped!.set('y', 1)).not.toBe(escaped);
    expect(escaped!.sortedKeys()).toEqual(['a', 'x']);
    const next = start.set('b', 2);
    expect(next.set('c', 3)).not.toBe(next);
    expect(start.sortedEntries()).toEqual([['a', 1]]);
  });

  it('walks a digest-keyed map in key order', () => {
    const keys: string[] = [];
    let seed = 1;
    for (let i = 0; i < 5000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      keys.push(`${seed.toString(16).padStart(8, '0')}${'ab'.repeat(28)}:${i % 3}`);
    }
    const map = persistentMapOf(keys.map((key, i) => [key, i] as const), 'digest');
    expect(map.size).toBe(new Set(keys).size);
    expect([...map.entries()].map(([key]) => key)).toEqual([...new Set(keys)].sort());
  });

  it('hexKey gives lowercase hex, also right after another input of the same length', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const b = a.slice();
    b[31] = 0xff;
    expect(hexKey(a)).toBe(Buffer.from(a).toString('hex'));
    expect(hexKey(b)).toBe(Buffer.from(b).toString('hex'));
    b[0] = 0xab; // same object, changed content
    expect(hexKey(b)).toBe(Buffer.from(b).toString('hex'));
    expect(hexKey(new Uint8Array(0))).toBe('');
    expect(hexKey(a, ':17')).toBe(`${Buffer.from(a).toString('hex')}:17`);
    expect(hexKey(a)).toBe(Buffer.from(a).toString('hex'));
    expect(hexKey(Uint8Array.from({ length: 63 }, (_, i) => i), ':123')).toBe(`${Buffer.from(Uint8Array.from({ length: 63 }, (_, i) => i)).toString('hex')}:123`);
    const long = Uint8Array.from({ length: 100 }, (_, i) => 255 - i);
    expect(hexKey(long)).toBe(Buffer.from(long).toString('hex'));
  });

  it('hexKey with a suffix right after the same bytes without one (a txid, then its outputs) gives the same keys', () => {
    const txid = Uint8Array.from({ length: 32 }, (_, i) => 31 * i + 5);
    const hex = Buffer.from(txid).toString('hex');
    expect(hexKey(txid)).toBe(hex);
    expect(hexKey(txid, ':0')).toBe(`${hex}:0`);
    expect(hexKey(txid, ':1')).toBe(`${hex}:1`);
    const other = txid.slice();
    other[5] = other[5]! ^ 1;
    expect(hexKey(other, ':0')).toBe(`${Buffer.from(other).toString('hex')}:0`);
    // A key made from the remembered hex works as any other in a digest-keyed map.
    const map = emptyPersistentMap<number>('digest').set(`${hex}:0`, 1);
    expect(map.get(hexKey(txid, ':0'))).toBe(1);
  });
});
