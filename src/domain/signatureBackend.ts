/**
 * A BIP-340 Schnorr implementation over secp256k1. Every backend must sign the rows of
 * the BIP-340 vectors (../shared/vectors/bip340-test-vectors.csv, copied to test/vectors) to exactly the listed signature and verify every row
 * to the listed result, so backends are interchangeable bit for bit.
 */
export interface SchnorrBackend {
  readonly name: string;
  /** The 32-byte x-only public key of a 32-byte secret key. Throws on an invalid secret key (a bug, not input). */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** A 64-byte BIP-340 signature. `auxRand` is 32 bytes; omitted means 32 zero bytes. */
  sign(message: Uint8Array, secretKey: Uint8Array, auxRand?: Uint8Array): Uint8Array;
  /** Never throws: any malformed signature, key or message is simply `false`. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export interface SignatureCheck {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}
