import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collisionShape, emptyPersistentMap, withTransientEdits, type MapKeys, type PersistentMap } from '../../src/domain/persistentMap.ts';
import { digestKeyHash, textKeyHash } from '../../src/domain/mapKeys.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { fnvMulticollision, keysWithPrefix, shuffled } from './mapKeysFixture.ts';

// Keys a client can grind onto one map hash: the widest page holding them (scanned and copied on
// each update) must stay a small constant, and the pages few on any path, whatever their number.
const WIDEST_PAGE = 32;
const HIGHEST_PAGES = 6;

const byKey = ([a]: [string, number], [b]: [string, number]) => (a < b ? -1 : a > b ? 1 : 0);
const sortedModel = (model: Map<string, number>) => [...model].sort(byKey);

/**
 * Inserts `keys` one at a time, then deletes a seeded half, through persistent updates or (when
 * `pages` > 0) that many rounds of transient edits; checks the structure, the walk, every lookup,
 * and that every version kept along the way still holds what it held.
 */
function checkCollidingKeys(keys: readonly string[], kind: MapKeys, seed: number, pages: number): void {
  const random = seededRandom(seed);
  const ops: Array<[string, number | undefined]> = shuffled(keys, random).map((key, i) => [key, i]);
  for (const key of shuffled(keys, random).slice(0, keys.length >>> 1)) ops.push([key, undefined]);
  const apply = (map: PersistentMap<number>, [key, value]: [string, number | undefined]) => (value === undefined ? map.delete(key) : map.set(key, value));

  const model = new Map<string, number>();
  const kept: Array<[PersistentMap<number>, [string, number][]]> = [];
  let map = emptyPersistentMap<number>(kind);
  const pageSize = pages > 0 ? Math.ceil(ops.length / pages) : ops.length;
  for (let from = 0; from < ops.length; from += pageSize) {
    const page = ops.slice(from, from + pageSize);
    if (pages > 0) {
      map = withTransientEdits((edit) => page.reduce(apply, edit.of(map)));
      for (const [key, value] of page) {
        if (value === undefined) model.delete(key);
        else model.set(key, value);
      }
      kept.push([map, sortedModel(model)]);
    } else {
      for (const [i, op] of page.entries()) {
        map = apply(map, op);
        if (op[1] === undefined) model.delete(op[0]);
        else model.set(op[0], op[1]);
        if (i % 2_500 === 0) kept.push([map, sortedModel(model)]);
      }
    }
  }

  const shape = collisionShape(map);
  expect(shape.collisions).toBeGreaterThan(0);
  expect(shape.widestPage).toBeLessThanOrEqual(WIDEST_PAGE);
  expect(shape.pageHeight).toBeLessThanOrEqual(HIGHEST_PAGES);
  expect(map.size).toBe(model.size);
  const walked = [...map.entries()];
  // Digest keys walk in key order on their own; the others at least sort to it.
  if (kind === 'digest') expect(walked).toEqual(sortedModel(model));
  expect(map.sortedEntries()).toEqual(sortedModel(model));
  for (const key of keys) expect(map.get(key)).toBe(model.get(key));
  for (const [version, entries] of kept) {
    expect(collisionShape(version).widestPage).toBeLessThanOrEqual(WIDEST_PAGE);
    expect(kind === 'digest' ? [...version.entries()] : version.sortedEntries()).toEqual(entries);
  }
}

describe('persistent map under keys sharing one hash', () => {
  const random = seededRandom(2026);
  const first8 = keysWithPrefix(20_000, 'deadbeef', random);
  const first16 = keysWithPrefix(20_000, 'deadbeef01234567', random);

  it('keeps 20,000 digest keys sharing their first 8 hex digits in narrow pages, walked in key order, every older version intact', () => {
    expect(new Set(first8.map(digestKeyHash)).size).toBe(1);
    checkCollidingKeys(first8, 'digest', 1, 0);
  });

  it('does the same for keys sharing their first 16 hex digits', () => {
    checkCollidingKeys(first16, 'digest', 2, 0);
  });

  it('does the same through pages of transient edits, each page leaving the map it started from intact', () => {
    checkCollidingKeys(first8, 'digest', 3, 7);
    checkCollidingKeys(first16, 'digest', 4, 3);
  });

  it("keeps the notes of transactions sharing a txid prefix in key order, a txid's outputs by their index text", () => {
    const outPoints = keysWithPrefix(20, 'deadbeef', seededRandom(5)).flatMap((txid) => Array.from({ length: 1_000 }, (_, index) => `${txid}:${index}`));
    checkCollidingKeys(outPoints, 'digest', 6, 0);
    checkCollidingKeys(outPoints, 'digest', 7, 5);
  });

  it('keeps 16,384 text keys with one FNV-1a hash in narrow pages, every lookup found, every older version intact', () => {
    const colliding = fnvMulticollision(14, seededRandom(12));
    expect(new Set(colliding).size).toBe(16_384);
    expect(new Set(colliding.map(textKeyHash)).size).toBe(1);
    checkCollidingKeys(colliding, 'text', 8, 0);
    checkCollidingKeys(colliding, 'text', 9, 4);
  });

  it('behaves like a Map under any sets and deletes of colliding keys, in persistent versions and transient pages', () => {
    // 300 keys on one hash: pages split, merge and refill as the sequence goes.
    const keys = keysWithPrefix(300, 'c0ffee00', seededRandom(10));
    const op = fc.tuple(fc.constantFrom(...keys), fc.option(fc.integer(), { nil: undefined }));
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 1_500 }), fc.nat({ max: 1_500 }), (ops, cut) => {
        const apply = (map: PersistentMap<number>, [key, value]: [string, number | undefined]) => (value === undefined ? map.delete(key) : map.set(key, value));
        const model = new Map<string, number>();
        const versions: Array<[PersistentMap<number>, [string, number][]]> = [];
        let persistent = emptyPersistentMap<number>('digest');
        for (const o of ops) {
          persistent = apply(persistent, o);
          if (o[1] === undefined) model.delete(o[0]);
          else model.set(o[0], o[1]);
          versions.push([persistent, sortedModel(model)]);
        }
        const firstPage = withTransientEdits((edit) => ops.slice(0, cut).reduce(apply, edit.of(emptyPersistentMap<number>('digest'))));
        const firstPageEntries = [...firstPage.entries()];
        const transient = withTransientEdits((edit) => ops.slice(cut).reduce(apply, edit.of(firstPage)));
        for (const map of [persistent, transient]) {
          expect(map.size).toBe(model.size);
          expect([...map.entries()]).toEqual(sortedModel(model));
          expect(collisionShape(map).widestPage).toBeLessThanOrEqual(WIDEST_PAGE);
          for (const key of keys) expect(map.get(key)).toBe(model.get(key));
        }
        for (const [version, entries] of versions) expect([...version.entries()]).toEqual(entries);
        expect([...firstPage.entries()]).toEqual(firstPageEntries);
      }),
      { seed: 11, numRuns: 40 },
    );
  });
});
