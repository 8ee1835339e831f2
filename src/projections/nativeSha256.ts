import { hash } from 'node:crypto';
import { u64BigEndian } from '../domain/hashing.ts';

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

/** header(i) = u64_be(i) || merkle_root(leaves), as the domain's `header`. */
export function nativeSessionHeader(session: number, leaves: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(40);
  out.set(u64BigEndian(session), 0);
  if (leaves.length === 0) return out;
  let level: Uint8Array[] = leaves.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      // An odd level pairs its last node with itself.
      pair.set(level[i]!, 0);
      pair.set(level[i + 1] ?? level[i]!, 32);
      next.push(nativeSha256(pair));
    }
    level = next;
  }
  out.set(level[0]!, 8);
  return out;
}
