import { hash } from 'node:crypto';
import type { HashPair } from '../domain/hashing.ts';

/**
 * sha256 through Node's one-shot native hash, for replay's hot paths: txids of every accepted
 * transaction, the leaf of every accepted item and every inner node of each session's merkle
 * tree. Same function as the domain's portable sha256 (the domain stays free of platform modules);
 * the replay tests check headers built here against the domain's through the fixture's real ones.
 */
export function nativeSha256(data: Uint8Array): Uint8Array {
  // The digest as a 'binary' (latin1) string, one char per byte, copied into 32 fresh bytes: a 'buffer'
  // result is a Buffer made in C++, which costs more than the copy (replay hashes three times per item).
  const digest = hash('sha256', data, 'binary');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = digest.charCodeAt(i);
  return out;
}

const pair = new Uint8Array(64);

/** sha256(left || right) natively for the domain's `merkleRoot` / `header`; merkle nodes are always 32 bytes. */
export const nativeHashPair: HashPair = (left, right) => {
  pair.set(left, 0);
  pair.set(right, 32);
  return nativeSha256(pair);
};

/**
 * sha256(enc(AcceptedItem)) = sha256(enc(item) || BigSize(peer)), as the domain's
 * acceptedItemHashOfEncoded, natively: a merkle leaf, hashed for every item replay checks and
 * every item the engine records. Tested against the domain's.
 */
export function nativeAcceptedItemHash(encodedItem: Uint8Array, peer: number): Uint8Array {
  // PeerId is u16: BigSize is one byte below 0xfd, else 0xfd and two bytes big-endian.
  const length = encodedItem.length + (peer < 0xfd ? 1 : 3);
  // One reused buffer for the preimage (hashed at once, never kept): no allocation per item.
  if (leafPreimage.length < length) leafPreimage = new Uint8Array(Math.max(length, 2 * leafPreimage.length));
  leafPreimage.set(encodedItem, 0);
  if (peer < 0xfd) leafPreimage[encodedItem.length] = peer;
  else {
    leafPreimage[encodedItem.length] = 0xfd;
    leafPreimage[encodedItem.length + 1] = peer >> 8;
    leafPreimage[encodedItem.length + 2] = peer & 0xff;
  }
  return nativeSha256(leafPreimage.subarray(0, length));
}

let leafPreimage = new Uint8Array(1024);
