/**
 * A guardian's keychain: signs and verifies signed digests, sha256(tag || message), for one
 * federation. The Schnorr backend is injected so the engine can swap in a faster implementation;
 * every backend is bit-for-bit identical (they all pass the BIP-340 vectors).
 */
import type { SchnorrBackend } from './signatureBackend.ts';
import { nobleBackend } from './signatures/noble.ts';
import { federationTag, threshold, type FederationKeys, type PeerId } from './federation.ts';
import { equalBytes, signedDigest } from './hashing.ts';
import { checkSignedOutcome } from './signedOutcomeCheck.ts';

export interface Keychain {
  readonly peer: PeerId;
  readonly publicKey: Uint8Array;
  readonly federation: FederationKeys;
  readonly tag: Uint8Array;
  readonly threshold: number;
  readonly backend: SchnorrBackend;
  /** Our BIP-340 signature over signedDigest(tag, message). */
  sign(message: Uint8Array): Uint8Array;
  /** Whether `signature` is `peer`'s over signedDigest(tag, message); false for unknown peers. */
  verify(peer: PeerId, message: Uint8Array, signature: Uint8Array): boolean;
}

export interface KeychainOptions {
  federation: FederationKeys;
  secretKey: Uint8Array;
  backend?: SchnorrBackend;
}

/** Throws if the secret key's public key is not in the federation (a configuration bug). */
export function createKeychain({ federation, secretKey, backend = nobleBackend }: KeychainOptions): Keychain {
  const publicKey = backend.publicKey(secretKey);
  const peer = [...federation].find(([, key]) => equalBytes(key, publicKey))?.[0];
  if (peer === undefined) throw new Error('this guardian key is not one of the federation keys');
  const verifier = createVerifier(federation, backend);
  return {
    peer,
    publicKey,
    federation,
    tag: verifier.tag,
    threshold: verifier.threshold,
    backend,
    // Zero aux randomness keeps signing a pure function; BIP-340 nonces stay secret without it.
    sign: (message) => backend.sign(signedDigest(verifier.tag, message), secretKey),
    verify: verifier.verify,
  };
}

export interface FederationVerifier {
  readonly federation: FederationKeys;
  readonly tag: Uint8Array;
  readonly threshold: number;
  verify(peer: PeerId, message: Uint8Array, signature: Uint8Array): boolean;
  /** Whether at least `threshold` distinct federation peers signed `message` validly (checkSignedOutcome). */
  verifyThreshold(message: Uint8Array, signatures: ReadonlyMap<PeerId, Uint8Array>): boolean;
}

/** Verification only (auditors, replay): no secret key needed. */
export function createVerifier(federation: FederationKeys, backend: SchnorrBackend = nobleBackend): FederationVerifier {
  const tag = federationTag(federation);
  const needed = threshold(federation.size);
  const verify = (peer: PeerId, message: Uint8Array, signature: Uint8Array): boolean => {
    const key = federation.get(peer);
    if (key === undefined || signature.length !== 64) return false;
    return backend.verify(signature, signedDigest(tag, message), key);
  };
  return {
    federation,
    tag,
    threshold: needed,
    verify,
    verifyThreshold: (message, signatures) => checkSignedOutcome({ header: message, signatures, keys: federation, tag, threshold: needed, backend }).met,
  };
}
