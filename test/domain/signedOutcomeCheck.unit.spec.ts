import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FederationKeys } from '../../src/domain/federation.ts';
import { bytesToHex, hexToBytes, signedDigest } from '../../src/domain/hashing.ts';
import type { SchnorrBackend } from '../../src/domain/signatureBackend.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { checkSignedOutcome, concludeSignedOutcomeCheck, planSignedOutcomeCheck } from '../../src/domain/signedOutcomeCheck.ts';
import { encodingVectors } from './encodingVectors.ts';

const SEED = 0x5e55;
const keys: FederationKeys = new Map(Object.entries(encodingVectors.federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
const secretKeys = encodingVectors.federation.secretKeys.map(hexToBytes);
const header = hexToBytes(encodingVectors.session.header);
const tag = hexToBytes(encodingVectors.federation.tag);
/** Peers 0, 1 and 2 signed session 7's header (the vector); 3 of the 4 is the threshold. */
const vectorHex = encodingVectors.session.signaturesAuxRandZero;
const vectorMap = new Map(Object.entries(vectorHex).map(([peer, sig]) => [Number(peer), hexToBytes(sig)]));
const peer3 = nobleBackend.sign(signedDigest(tag, header), secretKeys[3]!);

/** noble, counting the signatures it is asked to verify. */
function countingBackend(): SchnorrBackend & { calls: number } {
  const backend = { ...nobleBackend, calls: 0, verify: (s: Uint8Array, m: Uint8Array, k: Uint8Array) => (backend.calls++, nobleBackend.verify(s, m, k)) };
  return backend;
}

const check = (signatures: Parameters<typeof checkSignedOutcome>[0]['signatures'], options: { header?: Uint8Array; threshold?: number } = {}) =>
  checkSignedOutcome({ header: options.header ?? header, signatures, keys, backend: nobleBackend, ...(options.threshold === undefined ? {} : { threshold: options.threshold }) });

describe('the threshold check of a signed session outcome', () => {
  it('meets the threshold with the vector signatures of three of four peers, as a map and as the log records them', () => {
    const expected = { valid: [0, 1, 2], invalid: [], unknown: [], present: 3, threshold: encodingVectors.federation.threshold, met: true };
    expect(check(vectorMap)).toEqual(expected);
    expect(check(vectorHex)).toEqual(expected);
  });

  it('does not meet it with one signature fewer, nor over another header', () => {
    expect(check(new Map([...vectorMap].slice(0, 2)))).toMatchObject({ valid: [0, 1], met: false });
    const other = header.slice();
    other[7] = 6; // session 6's header, same items
    expect(check(vectorMap, { header: other })).toMatchObject({ valid: [], invalid: [0, 1, 2], met: false });
  });

  it('counts a peer once: a signature copied to another peer is invalid, and a non-canonical id names no peer', () => {
    const copied = check(new Map([[0, vectorMap.get(0)!], [1, vectorMap.get(1)!], [3, vectorMap.get(0)!]]));
    expect(copied).toMatchObject({ valid: [0, 1], invalid: [3], met: false });
    // "01" and "1" would be the same guardian if read as numbers.
    const twice = check({ '0': vectorHex['0']!, '1': vectorHex['1']!, '01': vectorHex['1']!, '+1': vectorHex['1']!, '1.0': vectorHex['1']! });
    expect(twice).toMatchObject({ valid: [0, 1], unknown: ['01', '+1', '1.0'], present: 5, met: false });
  });

  it('never counts signers outside the federation, even with a valid signature of their own', () => {
    const result = check(new Map([[0, vectorMap.get(0)!], [1, vectorMap.get(1)!], [7, peer3]]));
    expect(result).toMatchObject({ valid: [0, 1], unknown: ['7'], met: false });
    expect(check(new Map([...vectorMap, [3, peer3]]))).toMatchObject({ valid: [0, 1, 2, 3], met: true });
  });

  it('marks malformed signatures invalid without verifying them', () => {
    const backend = countingBackend();
    const result = checkSignedOutcome({ header, keys, backend, signatures: { '0': vectorHex['0']!, '1': vectorHex['1']!.toUpperCase(), '2': vectorHex['2']!.slice(2), '3': 'zz'.repeat(64) } });
    expect(result).toMatchObject({ valid: [0], invalid: [1, 2, 3], met: false });
    expect(backend.calls).toBe(1);
    const short = checkSignedOutcome({ header, keys, backend, signatures: new Map([[0, vectorMap.get(0)!.subarray(0, 63)]]) });
    expect(short).toMatchObject({ valid: [], invalid: [0] });
    expect(backend.calls).toBe(1);
  });

  it('takes a threshold and a precomputed tag when the caller has them', () => {
    expect(check(new Map([...vectorMap].slice(0, 2)), { threshold: 2 })).toMatchObject({ threshold: 2, met: true });
    expect(checkSignedOutcome({ header, keys, tag, signatures: vectorMap, backend: nobleBackend }).met).toBe(true);
    // A tag of another federation: every signature is over another digest.
    expect(checkSignedOutcome({ header, keys, tag: new Uint8Array(32), signatures: vectorMap, backend: nobleBackend }).valid).toEqual([]);
  });

  it('in two steps, gives the checks to batch and the same result from their answers', () => {
    const plan = planSignedOutcomeCheck({ header, keys, signatures: new Map([...vectorMap, [9, peer3]]) });
    expect(plan.peers).toEqual([0, 1, 2]);
    expect(plan.checks.map((c) => bytesToHex(c.publicKey))).toEqual([0, 1, 2].map((p) => encodingVectors.federation.keys[String(p)]));
    expect(concludeSignedOutcomeCheck(plan, [true, false, true])).toMatchObject({ valid: [0, 2], invalid: [1], unknown: ['9'], met: false });
    expect(() => concludeSignedOutcomeCheck(plan, [true, true])).toThrow(RangeError);
  });

  it('meets the threshold exactly when enough distinct federation peers signed validly, over seeded random signature sets', () => {
    const candidate = fc.oneof(
      fc.constantFrom(...[0, 1, 2].map((p) => vectorMap.get(p)!), peer3),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ maxLength: 70 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), candidate), { maxLength: 8 }), (entries) => {
        const signatures = new Map(entries);
        const result = check(signatures);
        // The rule, stated directly: a federation peer counts when its own key verifies its signature.
        const counted = [...signatures].filter(([peer, sig]) => keys.has(peer) && nobleBackend.verify(sig, signedDigest(tag, header), keys.get(peer)!)).map(([peer]) => peer);
        expect(result.valid).toEqual(counted.sort((a, b) => a - b));
        expect(result.met).toBe(counted.length >= 3);
        expect(result.valid.length + result.invalid.length + result.unknown.length).toBe(signatures.size);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
