import { z } from 'zod';
import { emptyPersistentMap, persistentMapOf, type PersistentMap } from '../domain/persistentMap.ts';
import { isEvent } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { canonicalTextHash, stateHash, type JsonValue, type Projection } from './projection.ts';

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

export interface TransactionsState {
  readonly accepted: PersistentMap<AcceptedTx>;
  readonly rejected: PersistentMap<RejectedTx>;
  readonly rejectedOlder: PersistentMap<RejectedTx>;
}

export const transactionsProjection: Projection<TransactionsState> = {
  name: 'transactions',
  version: 1,
  initial: { accepted: emptyPersistentMap(), rejected: emptyPersistentMap(), rejectedOlder: emptyPersistentMap() },

  evolve(state, event: RecordedEvent) {
    if (isEvent(event, 'ItemAccepted')) {
      const { txid, session, index } = event.data;
      if (txid === undefined) return state;
      return {
        accepted: state.accepted.set(txid, { session, index }),
        // Once accepted, an earlier rejection (e.g. an input not yet confirmed) is no longer the answer.
        rejected: state.rejected.has(txid) ? state.rejected.delete(txid) : state.rejected,
        rejectedOlder: state.rejectedOlder.has(txid) ? state.rejectedOlder.delete(txid) : state.rejectedOlder,
      };
    }
    if (isEvent(event, 'ItemRejected')) {
      const { txid, session, reason } = event.data;
      // A rejection after acceptance is a duplicate submission: the transaction stays accepted.
      if (txid === undefined || state.accepted.has(txid)) return state;
      const rejected = state.rejected.set(txid, { session, reason });
      if (rejected.size <= REJECTED_GENERATION) return { ...state, rejected };
      return { accepted: state.accepted, rejected: emptyPersistentMap<RejectedTx>().set(txid, { session, reason }), rejectedOlder: state.rejected.delete(txid) };
    }
    return state;
  },

  toSnapshot: (state) => ({
    accepted: Object.fromEntries(state.accepted.sortedEntries().map(([txid, a]) => [txid, [a.session, a.index]])),
    rejected: rejectedJson(state.rejected),
    rejectedOlder: rejectedJson(state.rejectedOlder),
  }),
  stateHash(state) {
    // The canonical text of toSnapshot(state), written directly: the accepted map holds one entry per
    // transaction ever accepted, and building its snapshot object costs several times hashing it.
    const accepted = mapText(state.accepted, acceptedText);
    const rejected = mapText(state.rejected, rejectedText);
    const rejectedOlder = mapText(state.rejectedOlder, rejectedText);
    if (accepted === undefined || rejected === undefined || rejectedOlder === undefined) return stateHash(transactionsProjection.toSnapshot(state));
    // Top-level keys in code-unit order, as canonical JSON sorts them.
    return canonicalTextHash(`{"accepted":${accepted},"rejected":${rejected},"rejectedOlder":${rejectedOlder}}`);
  },
  fromSnapshot(json) {
    const parsed = snapshotSchema.parse(json);
    const rejected = (r: Record<string, [number, string]>) => persistentMapOf(Object.entries(r).map(([txid, [session, reason]]) => [txid, { session, reason }] as const));
    return {
      accepted: persistentMapOf(Object.entries(parsed.accepted).map(([txid, [session, index]]) => [txid, { session, index }] as const)),
      rejected: rejected(parsed.rejected),
      rejectedOlder: rejected(parsed.rejectedOlder),
    };
  },
};

/** A map's canonical JSON object text (keys in code-unit order, as sortedEntries gives them); undefined if a value holds a number JSON cannot carry. */
function mapText<V>(map: PersistentMap<V>, valueText: (value: V) => string | undefined): string | undefined {
  const members: string[] = [];
  for (const [key, value] of map.sortedEntries()) {
    const text = valueText(value);
    if (text === undefined) return undefined;
    members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

const acceptedText = (a: AcceptedTx) => {
  const session = numberText(a.session);
  const index = numberText(a.index);
  return session === undefined || index === undefined ? undefined : `[${session},${index}]`;
};

const rejectedText = (r: RejectedTx) => {
  const session = numberText(r.session);
  return session === undefined ? undefined : `[${session},${JSON.stringify(r.reason)}]`;
};

/** JSON.stringify's text for a finite number; undefined for NaN and infinities, which canonical JSON refuses (the slow path then throws as before). */
function numberText(n: number): string | undefined {
  return Number.isFinite(n) ? JSON.stringify(n) : undefined;
}

function rejectedJson(map: PersistentMap<RejectedTx>): JsonValue {
  return Object.fromEntries(map.sortedEntries().map(([txid, r]) => [txid, [r.session, r.reason]]));
}

const txidKey = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0);
const snapshotSchema = z.object({
  accepted: z.record(txidKey, z.tuple([count, count])),
  rejected: z.record(txidKey, z.tuple([count, z.string()])),
  rejectedOlder: z.record(txidKey, z.tuple([count, z.string()])),
});

export type TransactionLookup = ({ status: 'accepted' } & AcceptedTx) | ({ status: 'rejected' } & RejectedTx) | { status: 'unknown' };

/** What the log says about `txid` (lowercase hex). 'pending' is the engine's to know, not the log's. */
export function lookupTransaction(state: TransactionsState, txid: string): TransactionLookup {
  const accepted = state.accepted.get(txid);
  if (accepted !== undefined) return { status: 'accepted', ...accepted };
  const rejected = state.rejected.get(txid) ?? state.rejectedOlder.get(txid);
  if (rejected !== undefined) return { status: 'rejected', ...rejected };
  return { status: 'unknown' };
}

export function acceptedTransactionCount(state: TransactionsState): number {
  return state.accepted.size;
}
