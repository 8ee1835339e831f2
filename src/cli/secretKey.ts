import { randomBytes } from 'node:crypto';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';

/** A fresh valid secp256k1 secret key (a random 32 bytes is out of range with probability ~2^-128; drawn again then). */
export function newSecretKey(backend: SchnorrBackend = nobleBackend): Uint8Array {
  for (;;) {
    const candidate = randomBytes(32);
    try {
      backend.publicKey(candidate);
      return candidate;
    } catch {
      // out of range: draw again
    }
  }
}
