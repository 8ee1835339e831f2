import type { Keychain } from '../../domain/keychain.ts';

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

/** The real signer: the guardian's keychain (BIP-340 over the federation-tagged digest). */
export function unitSignerFromKeychain(keychain: Keychain): UnitSigner {
  return {
    peer: keychain.peer,
    n: keychain.federation.size,
    sign: (message) => keychain.sign(message),
    verify: (peer, message, signature) => keychain.verify(peer, message, signature),
  };
}
