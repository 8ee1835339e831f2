/**
 * Who the federation is: peers 0..n-1, each with a BIP-340 x-only key. The federation tag binds
 * every signature to this exact key set.
 */
import { bytes32, decode, encode, map, u16, type Codec, type DecodeResult } from './encoding.ts';
import { sha256 } from './hashing.ts';

/** A guardian's index, 0 .. n-1 (u16 on the wire). */
export type PeerId = number;
export const peerIdCodec: Codec<PeerId> = u16;

/** PeerId -> 32-byte x-only public key. */
export type FederationKeys = ReadonlyMap<PeerId, Uint8Array>;
export const federationKeysCodec: Codec<FederationKeys> = map(peerIdCodec, bytes32);

export function encodeFederationKeys(keys: FederationKeys): Uint8Array {
  return encode(federationKeysCodec, keys);
}

export function decodeFederationKeys(bytes: Uint8Array): DecodeResult<FederationKeys> {
  return decode(federationKeysCodec, bytes);
}

/** tag = sha256(enc(FederationKeys)). */
export function federationTag(keys: FederationKeys): Uint8Array {
  return sha256(encodeFederationKeys(keys));
}

/** The most byzantine guardians n can tolerate: floor((n-1)/3). */
export function maxEvil(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`federation size must be a positive integer, got ${n}`);
  return Math.floor((n - 1) / 3);
}

/** Signatures (or deposit votes) needed: n - floor((n-1)/3). */
export function threshold(n: number): number {
  return n - maxEvil(n);
}

/** DESIGN.md: n = 1 or n >= 4. Sizes 2 and 3 tolerate no fault while needing more than one guardian. */
export function isSupportedFederationSize(n: number): boolean {
  return Number.isInteger(n) && (n === 1 || n >= 4);
}
