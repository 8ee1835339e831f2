import type { RecordedEvent } from '../streams/eventLog.ts';

/**
 * The consensus bytes of an ItemAccepted's `item` hex, decoded once per event object: the ledger
 * fold, the audit's fold and replay's header check all need them, and hex decoding is a visible
 * share of replay time. Node's native hex decoder is several times faster than a JS loop; the
 * result is copied out of Buffer's shared pool into a plain Uint8Array so nothing aliases it.
 */
const decoded = new WeakMap<RecordedEvent, Uint8Array>();

export function acceptedItemBytes(event: RecordedEvent & { data: { item: string } }): Uint8Array {
  let bytes = decoded.get(event);
  if (bytes === undefined) {
    bytes = new Uint8Array(Buffer.from(event.data.item, 'hex'));
    decoded.set(event, bytes);
  }
  return bytes;
}
