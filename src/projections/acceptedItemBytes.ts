import type { Position, RecordedEvent } from '../streams/eventLog.ts';

/**
 * The consensus bytes of an ItemAccepted's `item` hex, decoded once per event: replay's header
 * check decodes each item as it reads it, and the folds of its page (`ledger`, and replay's
 * `pendingItems`, which keeps the bytes) ask for the same items once the page is read, each in log
 * order. The most recently decoded items are kept in a ring, in the order decoded, with their
 * positions ascending (an older position restarts it); a lookup searches it by position and takes
 * the bytes only for the same hex (two logs in one process may share positions). No WeakMap:
 * ephemeron tables cost the garbage collector more than a decode saves. A miss decodes again.
 */
const RING = 2048;
const ringPositions = new Array<Position>(RING).fill(0n);
const ringHex = new Array<string>(RING).fill('');
const ringBytes = new Array<Uint8Array | undefined>(RING).fill(undefined);
/** The ring holds the items decoded from `ringStart` to `ringEnd` (counts of items decoded; index modulo RING). */
let ringStart = 0;
let ringEnd = 0;

/**
 * An ItemAccepted's data may carry its item's bytes, already decoded, under this key (replay's
 * worker receives its events so): they are taken instead of decoding `item`.
 */
export const ITEM_BYTES = Symbol('the item as bytes');

export function acceptedItemBytes(event: RecordedEvent & { data: { item: string; [ITEM_BYTES]?: Uint8Array } }): Uint8Array {
  const carried = event.data[ITEM_BYTES];
  if (carried !== undefined) return carried;
  const hex = event.data.item;
  const position = event.position;
  const kept = keptBytes(position, hex);
  if (kept !== undefined) return kept;
  const bytes = hexToBytes(hex);
  if (ringEnd > ringStart && ringPositions[(ringEnd - 1) % RING]! >= position) ringStart = ringEnd;
  const slot = ringEnd % RING;
  ringPositions[slot] = position;
  ringHex[slot] = hex;
  ringBytes[slot] = bytes;
  ringEnd++;
  if (ringEnd - ringStart > RING) ringStart = ringEnd - RING;
  return bytes;
}

/** The bytes kept for the item at `position`, if the ring holds it with the same hex. */
function keptBytes(position: Position, hex: string): Uint8Array | undefined {
  let lo = ringStart;
  let hi = ringEnd;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ringPositions[mid % RING]! < position) lo = mid + 1;
    else hi = mid;
  }
  if (lo === ringEnd) return undefined;
  const slot = lo % RING;
  return ringPositions[slot] === position && ringHex[slot] === hex ? ringBytes[slot] : undefined;
}

/**
 * Node's native hex decoder, written into a shared slab instead of a new Buffer per item (no
 * Buffer made per call). It stops at the first character
 * that is not hex (as before: the schema check lets only lowercase hex of whole bytes through).
 * A plain Uint8Array view, so `slice()` copies as it does for any Uint8Array (a Buffer's would alias).
 *
 * A full slab is replaced by a new one, never written again: the bytes stay valid, and a slab is
 * freed once no view of it is left (callers keep none: the header check hashes the bytes, the
 * ledger frames and applies the item, and decoding copies whatever a module keeps). Larger items
 * get bytes of their own, so one kept view pins at most a slab.
 */
const SLAB_BYTES = 1 << 18;
const OWN_BYTES_FROM = SLAB_BYTES >>> 4;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

function hexToBytes(hex: string): Uint8Array {
  const length = hex.length >>> 1;
  if (length >= OWN_BYTES_FROM) {
    const bytes = Buffer.from(hex, 'hex');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  if (used + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const written = slab.write(hex, used, length, 'hex');
  const bytes = new Uint8Array(slab.buffer, slab.byteOffset + used, written);
  used += written;
  return bytes;
}
