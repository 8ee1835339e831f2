import type { RecordedEvent } from '../streams/eventLog.ts';

/**
 * The consensus bytes of an ItemAccepted's `item` hex, decoded once per event object: the ledger
 * fold, the audit's fold and replay's header check all need them, one right after the other for
 * the same event. So the cache holds only the most recent events (no WeakMap: ephemeron tables
 * cost the garbage collector more than a decode saves), and a miss simply decodes again.
 */
const CACHED = 4;
const events: (RecordedEvent | undefined)[] = new Array<RecordedEvent | undefined>(CACHED).fill(undefined);
const decoded: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHED).fill(undefined);
let next = 0;

export function acceptedItemBytes(event: RecordedEvent & { data: { item: string } }): Uint8Array {
  for (let i = 0; i < CACHED; i++) if (events[i] === event) return decoded[i]!;
  const bytes = hexToBytes(event.data.item);
  events[next] = event;
  decoded[next] = bytes;
  next = (next + 1) % CACHED;
  return bytes;
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c;

/**
 * Lowercase hex (what the event schema admits) straight into one fresh Uint8Array. Anything else
 * goes through Node's decoder, as before, which stops at the first character that is not hex.
 */
function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const a = hex.charCodeAt(2 * i);
    const b = hex.charCodeAt(2 * i + 1);
    const hi = a < 128 ? NIBBLE[a]! : -1;
    const lo = b < 128 ? NIBBLE[b]! : -1;
    if (hi < 0 || lo < 0) return new Uint8Array(Buffer.from(hex, 'hex'));
    out[i] = (hi << 4) | lo;
  }
  return out;
}
