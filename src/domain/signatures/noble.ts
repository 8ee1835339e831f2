import { schnorr } from '@noble/curves/secp256k1.js';
import type { SchnorrBackend } from '../signatureBackend.ts';

const ZERO_AUX = new Uint8Array(32);

/** The reference backend: @noble/curves, audited pure TypeScript (the verification workers use it too). */
export const nobleBackend: SchnorrBackend = {
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
