import { describe, expect, it } from 'vitest';
import { emptyPersistentMap, type PersistentMap } from '../../src/domain/persistentMap.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { acceptedTxidsList, chainAcceptedKeys, type AcceptedKeys } from '../../src/projections/ledgerTxidsText.ts';

function randomHex(random: () => number, digits: number): string {
  let hex = '';
  for (let i = 0; i < digits; i++) hex += '0123456789abcdef'[Math.floor(random() * 16)];
  return hex;
}

/** The canonical list members JSON.stringify writes for these keys, sorted. */
function expectedList(keys: Iterable<string>): string {
  return JSON.stringify([...keys].sort()).slice(1, -1);
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

interface FoldState {
  map: PersistentMap<true>;
  accepted: AcceptedKeys | undefined;
}

/** Fold calls of random sizes, each accepting fresh txids; many share their first 8 digits (a run sorted by text). */
function folds(seed: number, calls: number): FoldState[] {
  const random = seededRandom(seed);
  const prefixes = Array.from({ length: 4 }, () => randomHex(random, 8));
  const states: FoldState[] = [{ map: emptyPersistentMap('digest'), accepted: undefined }];
  for (let call = 0; call < calls; call++) {
    const { map, accepted } = states[states.length - 1]!;
    const added: string[] = [];
    let next = map;
    for (let i = Math.floor(random() * 40); i > 0; i--) {
      const key = random() < 0.3 ? prefixes[Math.floor(random() * prefixes.length)]! + randomHex(random, 56) : randomHex(random, 64);
      next = next.set(key, true);
      added.push(key);
    }
    states.push({ map: next, accepted: added.length === 0 ? accepted : chainAcceptedKeys(accepted, added) });
  }
  return states;
}

describe('the accepted txids text', () => {
  it('lists every txid sorted, merging the keys accepted since the last text made, at any spacing of checkpoints', () => {
    const states = folds(11, 60);
    const random = seededRandom(12);
    for (let at = 0; at < states.length; at += 1 + Math.floor(random() * 6)) {
      const { map, accepted } = states[at]!;
      expect(text(acceptedTxidsList(map, accepted))).toBe(expectedList(map.sortedKeys()));
    }
  });

  it('walks the map for a state older than the last text made, or one no fold made', () => {
    const states = folds(21, 30);
    const newest = states[states.length - 1]!;
    expect(text(acceptedTxidsList(newest.map, newest.accepted))).toBe(expectedList(newest.map.sortedKeys()));
    const older = states[10]!;
    expect(text(acceptedTxidsList(older.map, older.accepted))).toBe(expectedList(older.map.sortedKeys()));
    expect(text(acceptedTxidsList(newest.map, undefined))).toBe(expectedList(newest.map.sortedKeys()));
    expect(acceptedTxidsList(emptyPersistentMap('digest'), undefined).length).toBe(0);
  });

  it('refuses a key that is not a txid', () => {
    const map = emptyPersistentMap<true>('digest').set('abc', true);
    expect(() => acceptedTxidsList(map, chainAcceptedKeys(undefined, ['abc']))).toThrow(/accepted txid key of 3 characters/);
  });
});
