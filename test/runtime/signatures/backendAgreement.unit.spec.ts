import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex } from '@noble/hashes/utils.js';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import type { SchnorrBackend } from '../../../src/domain/signatureBackend.ts';
import { loadNativeBackend, loadWasmBackend } from '../../../src/runtime/signatures/libsecp.ts';

const loaded = (load: ReturnType<typeof loadWasmBackend>): SchnorrBackend => {
  if (!load.ok) throw new Error(`the libsecp256k1 backends must load in the test environment: ${load.reason}`);
  return load.backend;
};
const libsecpBackends = [loaded(loadWasmBackend()), loaded(loadNativeBackend())];

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const FIELD_SIZE = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
const to32 = (v: bigint) => Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));

const secretKey = fc.bigInt(1n, CURVE_ORDER - 1n).map(to32);
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
// fedlog signs 32-byte digests; other lengths exercise the delegation to noble.
const message = fc.oneof({ weight: 4, arbitrary: bytes32 }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) });

type Corruption = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => [Uint8Array, Uint8Array, Uint8Array];
const flip = (b: Uint8Array, bit: number) => {
  const out = Uint8Array.from(b);
  if (out.length > 0) out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
};
const withR = (sig: Uint8Array, r: Uint8Array) => Uint8Array.from([...r, ...sig.subarray(32)]);
const withS = (sig: Uint8Array, s: Uint8Array) => Uint8Array.from([...sig.subarray(0, 32), ...s]);
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.nat(511).map((bit): Corruption => (s, m, p) => [flip(s, bit), m, p]),
  fc.nat(255).map((bit): Corruption => (s, m, p) => [s, flip(m, bit), p]),
  fc.nat(255).map((bit): Corruption => (s, m, p) => [s, m, flip(p, bit)]),
  // a random x is on the curve about half the time: both answers for "not on the curve"
  bytes32.map((p2): Corruption => (s, m) => [s, m, p2]),
  fc.bigInt(FIELD_SIZE, 2n ** 256n - 1n).map((r): Corruption => (s, m, p) => [withR(s, to32(r)), m, p]),
  fc.bigInt(CURVE_ORDER, 2n ** 256n - 1n).map((v): Corruption => (s, m, p) => [withS(s, to32(v)), m, p]),
  // r in [n, p): tiny-secp256k1 throws on it although BIP-340 only rejects r >= p
  fc.bigInt(CURVE_ORDER, FIELD_SIZE - 1n).map((r): Corruption => (s, m, p) => [withR(s, to32(r)), m, p]),
  fc.constant<Corruption>((s, m, p) => [s.subarray(0, 63), m, p]),
);

describe.each(libsecpBackends)('noble and $name agree', (libsecp) => {
  it('on public keys, signatures, and verification of honest and corrupted signatures', () => {
    fc.assert(
      fc.property(secretKey, message, bytes32, fc.array(corruption, { minLength: 1, maxLength: 3 }), (sk, msg, aux, corruptions) => {
        const pk = nobleBackend.publicKey(sk);
        expect(bytesToHex(libsecp.publicKey(sk))).toBe(bytesToHex(pk));
        const sig = nobleBackend.sign(msg, sk, aux);
        expect(bytesToHex(libsecp.sign(msg, sk, aux))).toBe(bytesToHex(sig));
        expect(libsecp.verify(sig, msg, pk)).toBe(true);
        expect(nobleBackend.verify(sig, msg, pk)).toBe(true);
        for (const corrupt of corruptions) {
          const [s2, m2, p2] = corrupt(sig, msg, pk);
          expect(libsecp.verify(s2, m2, p2)).toBe(nobleBackend.verify(s2, m2, p2));
        }
      }),
      { seed: 340, numRuns: 150 },
    );
  });
});
