// @ts-check
/**
 * The reference backend: @noble/curves, audited pure TypeScript. Plain JavaScript so that the
 * verification worker threads (Node 20 workers cannot load .ts) use this very adapter.
 */
import { schnorr } from '@noble/curves/secp256k1.js';

const ZERO_AUX = new Uint8Array(32);

/** @type {import('../signatureBackend.ts').SchnorrBackend} */
export const nobleBackend = {
  name: 'noble',
  publicKey: (secretKey) => schnorr.getPublicKey(secretKey),
  sign: (message, secretKey, auxRand = ZERO_AUX) => schnorr.sign(message, secretKey, auxRand),
  verify(signature, message, publicKey) {
    try {
      return schnorr.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};
