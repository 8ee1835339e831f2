import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKeychain, createVerifier } from '../../src/domain/keychain.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import type { FederationKeys } from '../../src/domain/federation.ts';
import { encodingVectors, vectorsDir } from './encodingVectors.ts';

const federation: FederationKeys = new Map(Object.entries(encodingVectors.federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
const secretKeys = encodingVectors.federation.secretKeys.map(hexToBytes);
const header = hexToBytes(encodingVectors.session.header);
const vectorSignatures = new Map(Object.entries(encodingVectors.session.signaturesAuxRandZero).map(([peer, sig]) => [Number(peer), hexToBytes(sig)]));

describe('keychain', () => {
  it('finds its peer id and signs the session header exactly as the vector (aux_rand zero)', () => {
    for (const [peer, expected] of vectorSignatures) {
      const keychain = createKeychain({ federation, secretKey: secretKeys[peer]! });
      expect(keychain.peer).toBe(peer);
      expect(keychain.threshold).toBe(3);
      expect(bytesToHex(keychain.tag)).toBe(encodingVectors.federation.tag);
      expect(bytesToHex(keychain.sign(header))).toBe(bytesToHex(expected));
    }
  });

  it('verifies each listed signature for its own peer only', () => {
    const keychain = createKeychain({ federation, secretKey: secretKeys[3]! });
    for (const [peer, signature] of vectorSignatures) {
      expect(keychain.verify(peer, header, signature)).toBe(true);
      expect(keychain.verify((peer + 1) % 4, header, signature)).toBe(false);
      expect(keychain.verify(9, header, signature)).toBe(false);
    }
    const tampered = Uint8Array.from(header);
    tampered[39]! ^= 1;
    expect(keychain.verify(0, tampered, vectorSignatures.get(0)!)).toBe(false);
    expect(keychain.verify(0, header, new Uint8Array(63))).toBe(false);
  });

  it('refuses a secret key outside the federation', () => {
    expect(() => createKeychain({ federation, secretKey: hexToBytes('00'.repeat(31) + '09') })).toThrow(/not one of the federation keys/);
  });

  it('accepts a backend by injection', () => {
    const calls: string[] = [];
    const keychain = createKeychain({
      federation,
      secretKey: secretKeys[0]!,
      backend: {
        name: 'spy',
        publicKey: () => federation.get(0)!,
        sign: () => (calls.push('sign'), new Uint8Array(64)),
        verify: () => (calls.push('verify'), true),
      },
    });
    keychain.sign(header);
    expect(keychain.verify(1, header, new Uint8Array(64))).toBe(true);
    expect(calls).toEqual(['sign', 'verify']);
  });
});

describe('threshold verification', () => {
  const verifier = createVerifier(federation);

  it('needs threshold valid signatures from distinct federation peers', () => {
    expect(verifier.verifyThreshold(header, vectorSignatures)).toBe(true);
    const two = new Map([...vectorSignatures].slice(0, 2));
    expect(verifier.verifyThreshold(header, two)).toBe(false);
  });

  it('does not count unknown peers or a signature copied to another peer', () => {
    const sig0 = vectorSignatures.get(0)!;
    const withUnknown = new Map([[0, sig0], [1, vectorSignatures.get(1)!], [7, vectorSignatures.get(2)!]]);
    expect(verifier.verifyThreshold(header, withUnknown)).toBe(false);
    const copied = new Map([[0, sig0], [1, vectorSignatures.get(1)!], [3, sig0]]);
    expect(verifier.verifyThreshold(header, copied)).toBe(false);
  });
});

describe('BIP-340 vectors through the keychain default backend', () => {
  const rows = readFileSync(join(vectorsDir, 'bip340-test-vectors.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .map(([index, secretKey, publicKey, auxRand, message, signature, result]) => ({ index, secretKey, publicKey, auxRand, message, signature, valid: result === 'TRUE' }))
    .filter((row) => row.message?.length === 64);
  const { backend } = createKeychain({ federation, secretKey: secretKeys[0]! });

  it('has 32-byte-message rows to check', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
  });

  it.each(rows)('row $index', (row) => {
    if (row.secretKey) {
      expect(bytesToHex(backend.sign(hexToBytes(row.message!), hexToBytes(row.secretKey), hexToBytes(row.auxRand!)))).toBe(row.signature!.toLowerCase());
    }
    expect(backend.verify(hexToBytes(row.signature!), hexToBytes(row.message!), hexToBytes(row.publicKey!))).toBe(row.valid);
  });
});
