import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { isEvent } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { canonicalHashWriter, type CanonicalHashWriter, type JsonValue, type Projection } from './projection.ts';
import { emptySortedHexMap, inPlaceSortedHexMap, sortedHexMapOf, type SortedHexMap, type TransientHexMap } from './sortedHexMap.ts';

/**
 * `transactions`: txid -> where it was accepted, or why it was last rejected.
 *
 * Bounded on purpose: accepted txids are kept forever (the ledger keeps every accepted txid anyway,
 * to refuse a second acceptance), but rejections cost nothing to produce, so a spammer could grow
 * them without limit. They are kept in two generations of at most REJECTED_GENERATION txids each:
 * when the newer one fills, the older one is dropped. A status query therefore remembers at least
 * the newest REJECTED_GENERATION rejections, and forgets older ones as 'unknown'.
 */
export const REJECTED_GENERATION = 50_000;

export interface AcceptedTx {
  session: number;
  index: number;
}
export interface RejectedTx {
  session: number;
  reason: string;
}

/**
 * One acceptance, linked to the one before it: the accepted map's values, and, in log order, the
 * list the snapshot and the state hash are made of. `hashed` caches the sha256 state of the
 * snapshot text up to and including this entry (see acceptedPrefixHash).
 */
interface Acceptance extends AcceptedTx {
  readonly txid: string;
  readonly session: number;
  readonly index: number;
  readonly previous: Acceptance | undefined;
  hashed: Hash | undefined;
}

export interface TransactionsState {
  /** txid -> its (last) acceptance. */
  readonly accepted: SortedHexMap<Acceptance>;
  /** The newest acceptance; following `previous` gives every acceptance, newest first. */
  readonly newest: Acceptance | undefined;
  readonly rejected: SortedHexMap<RejectedTx>;
  readonly rejectedOlder: SortedHexMap<RejectedTx>;
}

/** The maps of a state being built by evolveBatch: mutable until the batch ends. */
interface TransientState {
  accepted: TransientHexMap<Acceptance>;
  newest: Acceptance | undefined;
  rejected: TransientHexMap<RejectedTx>;
  rejectedOlder: TransientHexMap<RejectedTx>;
}

export const transactionsProjection: Projection<TransactionsState> = {
  name: 'transactions',
  // 2: accepted transactions are snapshot (and hashed) as a list in log order, not a txid-keyed object.
  version: 2,
  initial: { accepted: emptySortedHexMap(), newest: undefined, rejected: emptySortedHexMap(), rejectedOlder: emptySortedHexMap() },

  evolve(state, event: RecordedEvent) {
    if (isEvent(event, 'ItemAccepted')) {
      const { txid, session, index } = event.data;
      if (txid === undefined) return state;
      const newest: Acceptance = { txid, session, index, previous: state.newest, hashed: undefined };
      return {
        accepted: state.accepted.set(txid, newest),
        newest,
        // Once accepted, an earlier rejection (e.g. an input not yet confirmed) is no longer the answer.
        rejected: state.rejected.size !== 0 && state.rejected.has(txid) ? state.rejected.delete(txid) : state.rejected,
        rejectedOlder: state.rejectedOlder.size !== 0 && state.rejectedOlder.has(txid) ? state.rejectedOlder.delete(txid) : state.rejectedOlder,
      };
    }
    if (isEvent(event, 'ItemRejected')) {
      const { txid, session, reason } = event.data;
      // A rejection after acceptance is a duplicate submission: the transaction stays accepted.
      if (txid === undefined || state.accepted.has(txid)) return state;
      const rejected = state.rejected.set(txid, { session, reason });
      if (rejected.size <= REJECTED_GENERATION) return { ...state, rejected };
      return { ...state, rejected: emptySortedHexMap<RejectedTx>().set(txid, { session, reason }), rejectedOlder: state.rejected.delete(txid) };
    }
    return state;
  },

  evolveBatch(state, events) {
    let working: TransientState | undefined;
    for (const event of events) {
      if (isEvent(event, 'ItemAccepted')) {
        const { txid, session, index } = event.data;
        if (txid === undefined) continue;
        working ??= transientOf(state);
        const newest: Acceptance = { txid, session, index, previous: working.newest, hashed: undefined };
        working.newest = newest;
        working.accepted.set(txid, newest);
        if (working.rejected.size !== 0) working.rejected.delete(txid);
        if (working.rejectedOlder.size !== 0) working.rejectedOlder.delete(txid);
      } else if (isEvent(event, 'ItemRejected')) {
        const { txid, session, reason } = event.data;
        if (txid === undefined) continue;
        working ??= transientOf(state);
        if (working.accepted.has(txid)) continue;
        // The newer generation is full: it becomes the older one (the oldest is forgotten), as in evolve.
        if (working.rejected.size >= REJECTED_GENERATION && !working.rejected.has(txid)) {
          working.rejectedOlder.persistent();
          working.rejectedOlder = working.rejected;
          working.rejected = emptySortedHexMap<RejectedTx>().transient();
        }
        working.rejected.set(txid, { session, reason });
      }
    }
    if (working === undefined) return state;
    return { accepted: working.accepted.persistent(), newest: working.newest, rejected: working.rejected.persistent(), rejectedOlder: working.rejectedOlder.persistent() };
  },

  toSnapshot: (state) => ({
    accepted: acceptancesInOrder(state.newest).map((a) => [a.txid, a.session, a.index]),
    rejected: rejectedJson(state.rejected),
    rejectedOlder: rejectedJson(state.rejectedOlder),
  }),
  stateHash(state) {
    // sha256 of the canonical text of toSnapshot(state): the accepted list continues the hash of
    // the longest prefix hashed before (at the previous checkpoint), then the rejections are
    // written from their maps, which are already in key order.
    const hash = acceptedPrefixHash(state.newest);
    const out = canonicalHashWriter(80 * (state.rejected.size + state.rejectedOlder.size) + 64);
    out.raw('],"rejected":');
    rejectedText(state.rejected, out);
    out.raw(',"rejectedOlder":');
    rejectedText(state.rejectedOlder, out);
    out.raw('}');
    out.writeTo(hash);
    return hash.digest('hex');
  },
  fromSnapshot(json) {
    const parsed = snapshotSchema.parse(json);
    const rejected = (r: Record<string, [number, string]>) => sortedHexMapOf(Object.entries(r).map(([txid, [session, reason]]) => [txid, { session, reason }] as const));
    const accepted = emptySortedHexMap<Acceptance>().transient();
    let newest: Acceptance | undefined;
    for (const [txid, session, index] of parsed.accepted) {
      newest = { txid, session, index, previous: newest, hashed: undefined };
      accepted.set(txid, newest);
    }
    return { accepted: accepted.persistent(), newest, rejected: rejected(parsed.rejected), rejectedOlder: rejected(parsed.rejectedOlder) };
  },
  newestOnly: () => inPlaceTransactionsProjection(),
};

/**
 * `transactions` for a fold that reads only its newest state (newestOnly): its accepted and
 * rejected maps are changed in place (inPlaceSortedHexMap), so every state of the fold shares them
 * (a full generation of rejections is then followed by a persistent one).
 */
function inPlaceTransactionsProjection(): Projection<TransactionsState> {
  return { ...transactionsProjection, initial: { accepted: inPlaceSortedHexMap(), newest: undefined, rejected: inPlaceSortedHexMap(), rejectedOlder: emptySortedHexMap() } };
}

function transientOf(state: TransactionsState): TransientState {
  return { accepted: state.accepted.transient(), newest: state.newest, rejected: state.rejected.transient(), rejectedOlder: state.rejectedOlder.transient() };
}

/** Every acceptance from the oldest to `newest`. */
function acceptancesInOrder(newest: Acceptance | undefined): Acceptance[] {
  const out: Acceptance[] = [];
  for (let a = newest; a !== undefined; a = a.previous) out.push(a);
  return out.reverse();
}

/**
 * A sha256 holding `{"accepted":[` and every acceptance up to `newest`, as canonical JSON. It
 * continues from the newest acceptance that already holds one (the previous hash of an older
 * state: a checkpoint hashes only the acceptances since the one before) and leaves a copy on
 * `newest`. The copy it started from is dropped, so one such hash stays alive, not one per checkpoint.
 */
function acceptedPrefixHash(newest: Acceptance | undefined): Hash {
  const fresh: Acceptance[] = [];
  let from = newest;
  while (from !== undefined && from.hashed === undefined) {
    fresh.push(from);
    from = from.previous;
  }
  if (newest !== undefined && fresh.length === 0) return newest.hashed!.copy();
  const base = from?.hashed;
  const out = canonicalHashWriter(80 * fresh.length + 16);
  if (base === undefined) out.raw('{"accepted":[');
  for (let i = fresh.length - 1; i >= 0; i--) {
    const a = fresh[i]!;
    out.raw(i === fresh.length - 1 && base === undefined ? '[' : ',[');
    out.hex(a.txid);
    out.raw(',');
    out.number(a.session);
    out.raw(',');
    out.number(a.index);
    out.raw(']');
  }
  const hash = base === undefined ? createHash('sha256') : base.copy();
  out.writeTo(hash);
  if (newest === undefined) return hash;
  newest.hashed = hash.copy();
  if (from !== undefined) from.hashed = undefined;
  return hash;
}

function rejectedText(map: SortedHexMap<RejectedTx>, out: CanonicalHashWriter): void {
  out.raw('{');
  let first = true;
  map.forEachSorted((txid, r) => {
    if (!first) out.raw(',');
    first = false;
    out.hex(txid);
    out.raw(':[');
    out.number(r.session);
    out.raw(',');
    out.string(r.reason);
    out.raw(']');
  });
  out.raw('}');
}

function rejectedJson(map: SortedHexMap<RejectedTx>): JsonValue {
  return Object.fromEntries(map.sortedEntries().map(([txid, r]) => [txid, [r.session, r.reason]]));
}

const txidKey = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0);
const snapshotSchema = z.object({
  accepted: z.array(z.tuple([txidKey, count, count])),
  rejected: z.record(txidKey, z.tuple([count, z.string()])),
  rejectedOlder: z.record(txidKey, z.tuple([count, z.string()])),
});

export type TransactionLookup = ({ status: 'accepted' } & AcceptedTx) | ({ status: 'rejected' } & RejectedTx) | { status: 'unknown' };

/** What the log says about `txid` (lowercase hex). 'pending' is the engine's to know, not the log's. */
export function lookupTransaction(state: TransactionsState, txid: string): TransactionLookup {
  const accepted = state.accepted.get(txid);
  if (accepted !== undefined) return { status: 'accepted', session: accepted.session, index: accepted.index };
  const rejected = state.rejected.get(txid) ?? state.rejectedOlder.get(txid);
  if (rejected !== undefined) return { status: 'rejected', ...rejected };
  return { status: 'unknown' };
}

export function acceptedTransactionCount(state: TransactionsState): number {
  return state.accepted.size;
}
