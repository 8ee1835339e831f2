import { describe, expect, it } from 'vitest';
import { header, sha256 } from '../../src/domain/hashing.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { nativeAcceptedItemHash, nativeHashPair, nativeSha256 } from '../../src/projections/nativeSha256.ts';

describe('native sha256 for replay', () => {
  it('is the domain sha256, on views into larger buffers too', () => {
    const buffer = new Uint8Array(300).map((_, i) => (i * 31) & 0xff);
    for (const data of [new Uint8Array(0), buffer, buffer.subarray(7, 200)]) expect(nativeSha256(data)).toEqual(sha256(data));
  });

  it('builds the domain header through the domain tree with native pair hashing, for empty, single, odd and even sessions', () => {
    for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 33]) {
      const leaves = Array.from({ length: count }, (_, i) => sha256(Uint8Array.of(i, count)));
      expect(header(count * 1000 + 7, leaves, nativeHashPair)).toEqual(header(count * 1000 + 7, leaves));
    }
  });

  it('hashes an accepted item as the domain does, for one- and three-byte peer ids and items longer than its buffer', () => {
    for (const length of [0, 1, 300, 5000]) {
      const item = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
      for (const peer of [0, 3, 0xfc, 0xfd, 0xffff]) expect(nativeAcceptedItemHash(item, peer)).toEqual(acceptedItemHashOfEncoded(item, peer));
    }
  });
});
