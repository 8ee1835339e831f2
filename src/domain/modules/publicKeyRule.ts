/**
 * DESIGN.md, Modules: a deposit's recipient and a note's owner must be a BIP-340 x-only public key,
 * an x coordinate of a point on secp256k1. Value given to anything else could never be spent (no
 * signature verifies against it) and would stay a liability in the balance sheet for good.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { LRUCache } from 'lru-cache';
import { bytesToHex } from '../hashing.ts';

// lift_x is a square root mod p, about 0.1-0.3 ms in pure JS; owners recur (a user's change goes
// back to the same key, and the dry run and the ledger check every output twice), so verdicts are
// remembered. The verdict is a pure function of the bytes: remembering it changes no outcome.
const verdicts = new LRUCache<string, boolean>({ max: 16_384 });

/** Whether `key` is 32 bytes that BIP-340's lift_x accepts (0 < x < p and x^3 + 7 a square mod p). */
export function isXOnlyPublicKey(key: Uint8Array): boolean {
  if (key.length !== 32) return false;
  const hex = bytesToHex(key);
  let valid = verdicts.get(hex);
  if (valid === undefined) {
    try {
      schnorr.utils.lift_x(bytesToNumberBE(key));
      valid = true;
    } catch {
      valid = false;
    }
    verdicts.set(hex, valid);
  }
  return valid;
}

/** The rejection reason for a `role` (recipient, owner) that is not a key. */
export function notAPublicKey(role: string, key: Uint8Array): string {
  return `${role} ${bytesToHex(key)} is not a valid BIP-340 public key (not an x coordinate on secp256k1)`;
}
