/**
 * The hashes of DESIGN.md: sha256, the merkle root of a session, the session header, and the
 * signed digest (every signature is over sha256(tag || message), so a signature made for one
 * federation can never be replayed in another).
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** sha256 over the concatenation of `parts`, without building the concatenation. */
export function sha256Concat(...parts: Uint8Array[]): Uint8Array {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function bytesToHex(bytes: Uint8Array): string {
  return nobleBytesToHex(bytes);
}

/** Lowercase or uppercase hex to bytes; throws on odd length or a non-hex character. */
export function hexToBytes(hex: string): Uint8Array {
  return nobleHexToBytes(hex);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const EMPTY_ROOT = new Uint8Array(32);

/** sha256(left || right): one inner node of the merkle tree. */
export type HashPair = (left: Uint8Array, right: Uint8Array) => Uint8Array;

/** sha256(left || right) with the portable sha256 (any platform). */
export const portableHashPair: HashPair = (left, right) => sha256Concat(left, right);

/**
 * 32 zero bytes for no leaves; else pair up (duplicating the last node of an odd level) until one node.
 * `hashPair` lets a caller with a platform hash (replay, the engine) reuse this tree; it must be sha256(left || right).
 */
export function merkleRoot(leaves: readonly Uint8Array[], hashPair: HashPair = portableHashPair): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT.slice();
  let level: Uint8Array[] = [...leaves];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1] ?? left;
      next.push(hashPair(left, right));
    }
    level = next;
  }
  return level[0]!.slice();
}

/** u64 big-endian (8 bytes, not BigSize), as the session index is written in a header. */
export function u64BigEndian(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/**
 * header(i) = u64_be(i) || merkle_root(leaf hashes). `leafHashes` are sha256(enc(AcceptedItem_k));
 * see `sessionHeader` in sessionOutcome.ts to build it from the items themselves.
 */
export function header(session: number | bigint, leafHashes: readonly Uint8Array[], hashPair: HashPair = portableHashPair): Uint8Array {
  const out = new Uint8Array(40);
  out.set(u64BigEndian(session), 0);
  out.set(merkleRoot(leafHashes, hashPair), 8);
  return out;
}

/** signed digest = sha256(tag || message): what every guardian signature covers. */
export function signedDigest(tag: Uint8Array, message: Uint8Array): Uint8Array {
  return sha256Concat(tag, message);
}
