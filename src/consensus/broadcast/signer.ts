import type { SchnorrBackend } from '../../domain/signatureBackend.ts';
import { federationTag, type FederationKeys } from '../../domain/federation.ts';
import { signedDigest } from '../../domain/hashing.ts';

/**
 * What the broadcast needs from the keychain: sign a 32-byte message (a unit or alert hash) as this
 * peer, and check another peer's signature. Implementations sign the signed digest
 * sha256(tag || message) of DESIGN.md, never the raw message.
 */
export interface UnitSigner {
  readonly peer: number;
  readonly n: number;
  sign(message32: Uint8Array): Uint8Array;
  /** Never throws: a malformed signature or an unknown peer is false. */
  verify(peer: number, message32: Uint8Array, signature: Uint8Array): boolean;
}

/** The real signer: BIP-340 over the federation-tagged digest. */
export function createSchnorrSigner(options: { backend: SchnorrBackend; peer: number; secretKey: Uint8Array; keys: FederationKeys }): UnitSigner {
  const { backend, peer, secretKey, keys } = options;
  const tag = federationTag(keys);
  return {
    peer,
    n: keys.size,
    sign: (message) => backend.sign(signedDigest(tag, message), secretKey),
    verify(from, message, signature) {
      const key = keys.get(from);
      if (key === undefined || signature.length !== 64) return false;
      return backend.verify(signature, signedDigest(tag, message), key);
    },
  };
}
