import { describe, expect, it } from 'vitest';
import { digestKeyHash, hexPrefix, seededKeyHash, textKeyHash } from '../../src/domain/mapKeys.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';

function randomHex(random: () => number, digits: number): string {
  let hex = '';
  for (let i = 0; i < digits; i++) hex += '0123456789abcdef'[Math.floor(random() * 16)];
  return hex;
}

/** The order a trie walk visits hashes in: 5-bit fragments from the low end, the first fragment first. */
function trieOrder(a: number, b: number): number {
  for (let shift = 0; shift < 32; shift += 5) {
    const d = ((a >>> shift) & 31) - ((b >>> shift) & 31);
    if (d !== 0) return d;
  }
  return 0;
}

describe('map keys', () => {
  it('hexPrefix reads the first 8 lowercase hex digits as a number, and refuses anything else', () => {
    expect(hexPrefix('00000000')).toBe(0);
    expect(hexPrefix('ffffffff:1')).toBe(0xffffffff);
    expect(hexPrefix('0123abcd' + 'e'.repeat(56))).toBe(0x0123abcd);
    for (const key of ['', '0123abc', '0123ABCD', '0123abcg', '0123abc:', '\u00b0123abcd', '0123\u0130bcd']) expect(hexPrefix(key)).toBe(-1);
  });

  it('textKeyHash is 32-bit FNV-1a', () => {
    expect(textKeyHash('')).toBe(0x811c9dc5);
    expect(textKeyHash('a')).toBe(0xe40c292c);
    expect(textKeyHash('foobar')).toBe(0xbf9cf968);
  });

  it('digestKeyHash orders digest keys for a trie walk as their text sorts, and hashes other keys whole', () => {
    const random = seededRandom(7);
    // Short common prefixes too, so that keys share upper fragments.
    const keys = Array.from({ length: 2_000 }, (_, i) => (i % 3 === 0 ? '00' + randomHex(random, 62) : randomHex(random, 64)) + (i % 2 === 0 ? `:${i}` : ''));
    const byText = [...keys].sort();
    const byTrie = [...keys].sort((a, b) => trieOrder(digestKeyHash(a), digestKeyHash(b)) || (a < b ? -1 : a > b ? 1 : 0));
    expect(byTrie).toEqual(byText);
    for (const key of ['deposit', 'ABCDEF0123', '0123abc']) expect(digestKeyHash(key)).toBe(textKeyHash(key));
  });

  it('seededKeyHash reads every character and the seed: a change to either gives another hash', () => {
    const random = seededRandom(8);
    const key = randomHex(random, 64) + ':17';
    const keys = [key, key.slice(0, -1), key.slice(0, 64), ''];
    for (let i = 0; i < key.length; i++) keys.push(key.slice(0, i) + (key[i] === '0' ? '1' : '0') + key.slice(i + 1));
    expect(new Set(keys.map((k) => seededKeyHash(k, 1))).size).toBe(keys.length);
    const seeds = Array.from({ length: 100 }, (_, seed) => seed * 0x9e3779b9);
    expect(new Set(seeds.map((seed) => seededKeyHash(key, seed))).size).toBe(seeds.length);
    expect(seededKeyHash(key, 1)).toBe(seededKeyHash(key.slice(0, 10) + key.slice(10), 1));
  });
});
