/**
 * The keys of the ledger's persistent maps: the hex text made from a txid or a note's OutPoint, and
 * the 32-bit hash a map files each key under.
 */

const HEX_DIGITS = new Uint8Array(16).map((_, i) => '0123456789abcdef'.charCodeAt(i));
const hexText = new Uint8Array(128);
// One view per text length, made once: no subarray per key.
const hexTextViews: Uint8Array[] = [];
for (let size = 0; size <= hexText.length; size++) hexTextViews.push(hexText.subarray(0, size));
const latin1 = new TextDecoder('latin1');
const lastHexBytes = new Uint8Array(64);
let lastHexLength = -1;
let lastHex = '';

/**
 * Lowercase hex of `bytes`, the text the ledger's maps use as keys (txids, note OutPoints), then
 * `suffix` (ASCII, e.g. ":0" for an output index). One native decode of the ASCII digits into a
 * flat string. The last suffix-less result (up to 64 bytes) is remembered by content: a
 * transaction's txid keys its accepted entry and each of its outputs (the ledger asks for the
 * txid's key first). A remembered hex with a suffix is a concatenation, a rope flattened by the
 * first hash of the key, which still costs a third of a decode.
 * The memo keeps this pure: it is matched by the bytes' content and strings are immutable.
 */
export function hexKey(bytes: Uint8Array, suffix = ''): string {
  const length = bytes.length;
  if (length === lastHexLength) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[i] !== lastHexBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return suffix === '' ? lastHex : lastHex + suffix;
  }
  const size = 2 * length + suffix.length;
  const text = size <= hexText.length ? hexText : new Uint8Array(size);
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    text[2 * i] = HEX_DIGITS[byte >>> 4]!;
    text[2 * i + 1] = HEX_DIGITS[byte & 15]!;
  }
  for (let i = 0; i < suffix.length; i++) text[2 * length + i] = suffix.charCodeAt(i) & 0x7f;
  const hex = latin1.decode(text === hexText ? hexTextViews[size]! : text);
  if (suffix === '' && length <= 64) {
    lastHexBytes.set(bytes);
    lastHexLength = length;
    lastHex = hex;
  }
  return hex;
}

// FNV-1a over UTF-16 code units: spreads hex keys well. Keys sharing a hash (easy to find for FNV)
// cost a search of pages in key order (collisionPages.ts), not a scan.
export function textKeyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A 32-bit hash of the whole key under `seed`, for a table that probes from a key's hash
 * (MutableMap): keys sharing any part of it that does not depend on the seed would share a probe
 * run, as digest keys ground to share their first digits share digestKeyHash's low bits. Two UTF-16
 * code units per multiply, each step invertible in the state and in the characters (two keys'
 * states meet again only by chance), then murmur3's finalizer: keys ground without knowing the
 * seed spread as random ones do.
 */
export function seededKeyHash(key: string, seed: number): number {
  const length = key.length;
  let hash = seed ^ length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    hash = Math.imul(hash ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x9e3779b1);
    hash ^= hash >>> 15;
  }
  if (i < length) hash = Math.imul(hash ^ key.charCodeAt(i), 0x9e3779b1);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * The hash of a key that begins with the lowercase hex of a cryptographic digest (a txid, a note's
 * "txid:index"): the digest's first 32 bits, no hashing needed. Trie levels take 5 bits from the
 * low end, so the prefix's groups of 5 bits are laid out there top group first: an in-order walk
 * of the trie then visits keys in ascending order (keys sharing the 8 hex digits share a
 * collision's pages, kept in key order), and `sortedEntries` has nothing left to sort.
 *
 * Choosing keys with a common prefix costs a digest grind per key (2^32 hashes for 32 bits), as
 * it would to collide on any 32-bit hash of the key. Keys not starting with 8 lowercase hex
 * digits fall back to FNV.
 */
export function digestKeyHash(key: string): number {
  const prefix = hexPrefix(key);
  if (prefix < 0) return textKeyHash(key);
  return ((prefix >>> 27) | (((prefix >>> 22) & 31) << 5) | (((prefix >>> 17) & 31) << 10) | (((prefix >>> 12) & 31) << 15) | (((prefix >>> 7) & 31) << 20) | (((prefix >>> 2) & 31) << 25) | ((prefix & 3) << 30)) >>> 0;
}

/** The number `key`'s first 8 characters spell as lowercase hex digits (0 to 2^32 - 1), or -1 when they do not. */
export function hexPrefix(key: string): number {
  if (key.length < 8) return -1;
  let prefix = 0;
  for (let i = 0; i < 8; i++) {
    const c = key.charCodeAt(i);
    const digit = c < 128 ? HEX_VALUE[c]! : -1;
    if (digit < 0) return -1;
    prefix = (prefix << 4) | digit;
  }
  return prefix >>> 0;
}
