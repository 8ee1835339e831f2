import { describe, expect, it } from 'vitest';
import { bytesToHex, header, hexToBytes, merkleRoot, sha256, sha256Concat, signedDigest } from '../../src/domain/hashing.ts';
import { encodeFederationKeys, federationTag, maxEvil, threshold, decodeFederationKeys, isSupportedFederationSize } from '../../src/domain/federation.ts';
import { encodingVectors } from './encodingVectors.ts';

describe('merkle root', () => {
  it.each(encodingVectors.merkle)('matches the vector for $leaves.length leaves', ({ leaves, root }) => {
    expect(bytesToHex(merkleRoot(leaves.map(hexToBytes)))).toBe(root);
  });
});

describe('session header', () => {
  it.each(encodingVectors.header)('header($session) matches the vector', ({ session, items, header: expected }) => {
    // enc(AcceptedItem) = enc(item) || BigSize(peer); peers here are < 0xfd so one byte.
    const leaves = items.map(({ item, peer }) => sha256Concat(hexToBytes(item), Uint8Array.of(peer)));
    expect(bytesToHex(header(session, leaves))).toBe(expected);
  });

  it('signs sha256(tag || header) for the session vector', () => {
    const { session } = encodingVectors;
    const tag = hexToBytes(encodingVectors.federation.tag);
    const leaves = session.items.map(({ acceptedItem }) => sha256(hexToBytes(acceptedItem)));
    const built = header(session.session, leaves);
    expect(bytesToHex(built)).toBe(session.header);
    expect(bytesToHex(signedDigest(tag, built))).toBe(session.signedDigest);
  });
});

describe('federation', () => {
  const keys = new Map(Object.entries(encodingVectors.federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));

  it('encodes the key map and its tag as in the vector', () => {
    expect(bytesToHex(encodeFederationKeys(keys))).toBe(encodingVectors.federation.encodedKeys);
    expect(bytesToHex(federationTag(keys))).toBe(encodingVectors.federation.tag);
    const decoded = decodeFederationKeys(hexToBytes(encodingVectors.federation.encodedKeys));
    expect(decoded.ok && decoded.value.size).toBe(4);
  });

  it('computes threshold and maxEvil', () => {
    expect(threshold(keys.size)).toBe(encodingVectors.federation.threshold);
    expect([1, 4, 5, 6, 7, 10].map(threshold)).toEqual([1, 3, 4, 5, 5, 7]);
    expect([1, 4, 7, 10].map(maxEvil)).toEqual([0, 1, 2, 3]);
    expect(() => threshold(0)).toThrow(RangeError);
    expect([1, 2, 3, 4].map(isSupportedFederationSize)).toEqual([true, false, false, true]);
  });
});
