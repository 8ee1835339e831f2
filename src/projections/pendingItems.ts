import { z } from 'zod';
import { isEvent, type ItemAccepted } from '../streams/events.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { bytesToHex } from '../domain/hashing.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { canonicalHashWriter, type Projection } from './projection.ts';

/**
 * `pendingItems`: the items accepted in sessions not yet sealed by SessionCompleted, in order. This
 * is what a restarted guardian must not lose or reorder; it is emptied when its session completes,
 * so it never holds more than one open session's items.
 *
 * Kept as a persistent list (newest first) so that accepting an item is O(1) and leaves the
 * previous state intact; queries materialise it oldest first.
 */

export interface PendingItem {
  session: number;
  index: number;
  peer: number;
  /** enc(ConsensusItem) hex. */
  item: string;
  itemHash: string;
  txid?: string;
}

interface Cell {
  readonly item: PendingItem;
  readonly next: Cell | undefined;
}

export interface PendingItemsState {
  readonly newest: Cell | undefined;
  readonly count: number;
}

type AcceptedEvent = RecordedEvent & { type: 'ItemAccepted'; data: ItemAccepted };

/** The pending item of an ItemAccepted, its fields copied from the event. */
function itemOf(event: AcceptedEvent): PendingItem {
  const { session, index, peer, item, itemHash, txid } = event.data;
  return txid === undefined ? { session, index, peer, item, itemHash } : { session, index, peer, item, itemHash, txid };
}

/**
 * A pending item holding the item's bytes (acceptedItemBytes: in shared slabs outside the heap)
 * and making its hex when asked for. A replay's calling thread keeps every item of an open
 * session, tens of thousands on a busy guardian: as hex strings they were copied through the
 * young generation and promoted, a sixth of that thread's replay.
 */
class PendingItemFromBytes implements PendingItem {
  readonly txid?: string;
  constructor(
    readonly session: number,
    readonly index: number,
    readonly peer: number,
    private readonly bytes: Uint8Array,
    readonly itemHash: string,
    txid: string | undefined,
  ) {
    if (txid !== undefined) this.txid = txid;
  }
  get item(): string {
    return bytesToHex(this.bytes);
  }
}

function itemFromBytes(event: AcceptedEvent): PendingItem {
  const { session, index, peer, itemHash, txid } = event.data;
  return new PendingItemFromBytes(session, index, peer, acceptedItemBytes(event), itemHash, txid);
}

/**
 * Its newestOnly fold is pure too: it keeps items as bytes (PendingItemFromBytes) for replay, which
 * folds every item of the log and makes their hex only at stored snapshots.
 */
export const pendingItemsProjection: Projection<PendingItemsState> = { ...pendingItemsWith(itemOf), newestOnly: () => pendingItemsWith(itemFromBytes) };

function pendingItemsWith(pendingItem: (event: AcceptedEvent) => PendingItem): Projection<PendingItemsState> {
  return {
    name: 'pendingItems',
    version: 1,
    initial: { newest: undefined, count: 0 },

    evolve(state, event: RecordedEvent) {
      if (isEvent(event, 'ItemAccepted')) return { newest: { item: pendingItem(event), next: state.newest }, count: state.count + 1 };
      if (isEvent(event, 'SessionCompleted')) {
        const sealed = event.data.session;
        if (state.count === 0) return state;
        const kept = pendingItems(state).filter((p) => p.session > sealed);
        return kept.length === state.count ? state : fromList(kept);
      }
      return state;
    },

    evolveBatch(state, events) {
      // Cells are linked as in evolve; only the state object at the end is new.
      let newest = state.newest;
      let count = state.count;
      for (const event of events) {
        if (isEvent(event, 'ItemAccepted')) {
          newest = { item: pendingItem(event), next: newest };
          count++;
        } else if (isEvent(event, 'SessionCompleted') && count !== 0) {
          const sealed = event.data.session;
          const all = pendingItems({ newest, count });
          const kept = all.filter((p) => p.session > sealed);
          if (kept.length !== count) ({ newest, count } = fromList(kept));
        }
      }
      return newest === state.newest && count === state.count ? state : { newest, count };
    },

    toSnapshot: (state) => ({
      items: pendingItems(state).map((p) => ({ session: p.session, index: p.index, peer: p.peer, item: p.item, itemHash: p.itemHash, ...(p.txid === undefined ? {} : { txid: p.txid }) })),
    }),
    stateHash(state) {
      // The canonical text of toSnapshot(state) (each item's keys sorted), written straight from the
      // list. Its strings are hex (event and snapshot schemas), written unescaped.
      const items = pendingItems(state);
      let expected = 64;
      for (const p of items) expected += p.item.length + 250;
      const out = canonicalHashWriter(expected);
      out.raw('{"items":[');
      for (let i = 0; i < items.length; i++) {
        const p = items[i]!;
        out.raw(i === 0 ? '{"index":' : ',{"index":');
        out.number(p.index);
        out.raw(',"item":');
        out.hex(p.item);
        out.raw(',"itemHash":');
        out.hex(p.itemHash);
        out.raw(',"peer":');
        out.number(p.peer);
        out.raw(',"session":');
        out.number(p.session);
        if (p.txid !== undefined) {
          out.raw(',"txid":');
          out.hex(p.txid);
        }
        out.raw('}');
      }
      out.raw(']}');
      return out.digest();
    },
    fromSnapshot: (json) => fromList(snapshotSchema.parse(json).items),
  };
}

const count = z.number().int().min(0);
// Hex as in the ItemAccepted schema: stateHash writes these strings unescaped, so a snapshot must not bring in anything else.
const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/);
const hash = z.string().regex(/^[0-9a-f]{64}$/);
const snapshotSchema = z.object({
  items: z.array(z.object({ session: count, index: count, peer: count, item: hex, itemHash: hash, txid: hash.optional() })),
});

function fromList(items: readonly PendingItem[]): PendingItemsState {
  let newest: Cell | undefined;
  for (const item of items) newest = { item, next: newest };
  return { newest, count: items.length };
}

/** Every pending item, oldest first. */
export function pendingItems(state: PendingItemsState): PendingItem[] {
  const out = new Array<PendingItem>(state.count);
  let cell = state.newest;
  for (let i = state.count - 1; i >= 0 && cell !== undefined; i--, cell = cell.next) out[i] = cell.item;
  return out;
}

/** Pending items of one session, oldest first (GET /v1/sessions/:i/status while pending). */
export function pendingItemsOfSession(state: PendingItemsState, session: number): PendingItem[] {
  return pendingItems(state).filter((p) => p.session === session);
}
