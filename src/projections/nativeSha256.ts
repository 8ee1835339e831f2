import { hash } from 'node:crypto';
import { header, type HashPair } from '../domain/hashing.ts';

/**
 * sha256 through Node's one-shot native hash, for replay's hot paths: txids of every accepted
 * transaction, the leaf of every accepted item and every inner node of each session's merkle
 * tree. Same function as the domain's portable sha256 (the domain stays free of platform modules);
 * the replay tests check headers built here against the domain's through the fixture's real ones.
 */
export function nativeSha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

const pair = new Uint8Array(64);

/** sha256(left || right) natively for the domain's `merkleRoot` / `header`; merkle nodes are always 32 bytes. */
export const nativeHashPair: HashPair = (left, right) => {
  pair.set(left, 0);
  pair.set(right, 32);
  return nativeSha256(pair);
};

/** header(i) = u64_be(i) || merkle_root(leaves): the domain's tree with native hashing. */
export function nativeSessionHeader(session: number, leaves: readonly Uint8Array[]): Uint8Array {
  return header(session, leaves, nativeHashPair);
}

/**
 * sha256(enc(AcceptedItem)) = sha256(enc(item) || BigSize(peer)), as the domain's
 * acceptedItemHashOfEncoded, natively: a merkle leaf, hashed for every item replay checks and
 * every item the engine records. Tested against the domain's.
 */
export function nativeAcceptedItemHash(encodedItem: Uint8Array, peer: number): Uint8Array {
  return nativeSha256(acceptedItemPreimage(encodedItem, peer));
}

/** enc(AcceptedItem) in a reused buffer (hashed at once, never kept). */
function acceptedItemPreimage(encodedItem: Uint8Array, peer: number): Uint8Array {
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
  return leafPreimage.subarray(0, length);
}

let leafPreimage = new Uint8Array(1024);

const EMPTY_ROOT = new Uint8Array(32);
const duplicated = new Uint8Array(64);

/**
 * The merkle leaves of one session's accepted items, 32 bytes each in one growing buffer, and its
 * header built from them in place: replay keeps every leaf of a session until its
 * SessionCompleted (tens of thousands), and a Uint8Array per leaf (each with its own ArrayBuffer,
 * as the native hash returns it) cost the garbage collector more than the hashing. The same
 * header as `nativeSessionHeader` over the same leaves (tested).
 */
export class SessionLeaves {
  private bytes = new Uint8Array(32 * 256);
  private size = 0;

  get count(): number {
    return this.size;
  }

  /** Appends the leaf of an accepted item: sha256(enc(item) || BigSize(peer)). */
  addItem(encodedItem: Uint8Array, peer: number): void {
    if (32 * (this.size + 1) > this.bytes.length) {
      const grown = new Uint8Array(2 * this.bytes.length);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(hash('sha256', acceptedItemPreimage(encodedItem, peer), 'buffer'), 32 * this.size);
    this.size++;
  }

  /** header(session) = u64_be(session) || merkle root of the leaves. Uses up the leaves: nothing may be added or asked afterwards. */
  header(session: number): Uint8Array {
    const out = new Uint8Array(40);
    new DataView(out.buffer).setBigUint64(0, BigInt(session));
    const bytes = this.bytes;
    let n = this.size;
    // Each level in place: node i is written over bytes that nodes 2i and 2i+1 no longer need.
    while (n > 1) {
      const half = (n + 1) >> 1;
      for (let i = 0; i < half; i++) {
        const left = 64 * i;
        let pair: Uint8Array;
        if (2 * i + 1 < n) pair = bytes.subarray(left, left + 64);
        else {
          // An odd level: the last node is paired with itself.
          duplicated.set(bytes.subarray(left, left + 32), 0);
          duplicated.set(bytes.subarray(left, left + 32), 32);
          pair = duplicated;
        }
        bytes.set(hash('sha256', pair, 'buffer'), 32 * i);
      }
      n = half;
    }
    out.set(n === 0 ? EMPTY_ROOT : bytes.subarray(0, 32), 8);
    this.size = 0;
    return out;
  }
}
