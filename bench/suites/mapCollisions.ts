/**
 * The ledger's maps under keys a client can grind: N txid-like keys sharing their first 8 hex
 * digits (one 32-bit map hash), inserted one by one into the domain's persistent map (the
 * engine's path) and into replay's in-place MutableMap. Random keys of the same shape are the
 * control: what an update costs when nobody grinds.
 */
import { performance } from 'node:perf_hooks';
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { emptyPersistentMap } from '../../src/domain/persistentMap.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { MutableMap } from '../../src/projections/mutableMap.ts';

const SUITE = 'mapCollisions';
const RUNS = 5;
const SIZES = [5_000, 10_000, 20_000];

function randomHex(random: () => number, digits: number): string {
  let hex = '';
  for (let i = 0; i < digits; i++) hex += '0123456789abcdef'[Math.floor(random() * 16)];
  return hex;
}

/** `count` distinct 64-digit keys starting with `prefix`, in seeded random order. */
function keysWithPrefix(count: number, prefix: string, seed: number): string[] {
  const random = seededRandom(seed);
  const keys = new Set<string>();
  while (keys.size < count) keys.add(prefix + randomHex(random, 64 - prefix.length));
  return [...keys];
}

function persistentInserts(keys: string[]): number {
  const start = performance.now();
  let map = emptyPersistentMap<number>('digest');
  for (let i = 0; i < keys.length; i++) map = map.set(keys[i]!, i);
  const ms = performance.now() - start;
  if (map.size !== keys.length) throw new Error('lost a key');
  return ms;
}

function mutableInserts(keys: string[]): number {
  const start = performance.now();
  const map = new MutableMap<number>();
  for (let i = 0; i < keys.length; i++) map.set(keys[i]!, i);
  const ms = performance.now() - start;
  if (map.size !== keys.length) throw new Error('lost a key');
  return ms;
}

const suite: BenchSuite = {
  name: SUITE,
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    for (const n of SIZES) {
      const shared = keysWithPrefix(n, 'deadbeef', n);
      const random = keysWithPrefix(n, '', n);
      // One unmeasured pass of each, so that the runs compare compiled code.
      persistentInserts(shared);
      persistentInserts(random);
      mutableInserts(random);
      rows.push(await repeat(SUITE, `persistent map: ${n.toLocaleString('en-US')} inserts, first 8 digits shared`, 'ms', RUNS, () => persistentInserts(shared)));
      rows.push(await repeat(SUITE, `persistent map: ${n.toLocaleString('en-US')} inserts, random keys`, 'ms', RUNS, () => persistentInserts(random), 'control'));
      rows.push(await repeat(SUITE, `MutableMap: ${n.toLocaleString('en-US')} inserts, first 8 digits shared`, 'ms', RUNS, () => mutableInserts(shared)));
      rows.push(await repeat(SUITE, `MutableMap: ${n.toLocaleString('en-US')} inserts, random keys`, 'ms', RUNS, () => mutableInserts(random), 'control'));
    }
    return rows;
  },
};

export default suite;
