import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { SchnorrBackend } from '../../../src/domain/signatureBackend.ts';
import { loadBip340Vectors } from './bip340Vectors.ts';

const vectors = loadBip340Vectors();

/** What every SchnorrBackend must do with the BIP-340 reference vectors (DESIGN.md), as one suite per backend. */
export function describeBip340Conformance(name: string, backend: SchnorrBackend): void {
  describe(name, () => {
    const signing = vectors.filter((v) => v.secretKey !== undefined);

    it.each(signing.map((v) => [v.index, v] as const))('row %i: derives the listed public key and signs to the listed signature', (_index, v) => {
      expect(bytesToHex(backend.publicKey(v.secretKey!))).toBe(bytesToHex(v.publicKey));
      expect(bytesToHex(backend.sign(v.message, v.secretKey!, v.auxRand))).toBe(bytesToHex(v.signature));
    });

    it.each(vectors.map((v) => [v.index, v.valid, v.comment, v] as const))('row %i: verifies to %s %s', (_index, valid, _comment, v) => {
      expect(backend.verify(v.signature, v.message, v.publicKey)).toBe(valid);
    });

    it('answers false, without throwing, for signatures and keys of the wrong length', () => {
      const v = vectors[1]!;
      expect(backend.verify(v.signature.subarray(0, 63), v.message, v.publicKey)).toBe(false);
      expect(backend.verify(v.signature, v.message, v.publicKey.subarray(0, 31))).toBe(false);
      expect(backend.verify(new Uint8Array(0), v.message, new Uint8Array(33))).toBe(false);
    });

    it('throws on an invalid secret key (zero, or not below the curve order)', () => {
      const order = Uint8Array.from(Buffer.from('FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141', 'hex'));
      expect(() => backend.publicKey(new Uint8Array(32))).toThrow();
      expect(() => backend.sign(new Uint8Array(32), order)).toThrow();
    });

    it('signs with 32 zero bytes of aux_rand when none is given', () => {
      const v = vectors[0]!; // row 0 lists aux_rand = 0^32
      expect(bytesToHex(backend.sign(v.message, v.secretKey!))).toBe(bytesToHex(v.signature));
    });
  });
}
