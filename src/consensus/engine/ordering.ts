/**
 * The ordering port: where the engine's input comes from. Per session, a stream of ordered units
 * (every guardian sees the same units in the same order) and, racing it, signed outcomes that peers
 * offer for the session. n = 1 is one implementation (singleGuardianOrdering.ts: the submission
 * queue and the session timer); the atomic broadcast over the peer links is the other.
 */
import type { ConsensusItem } from '../../domain/consensusItem.ts';
import type { PeerId } from '../../domain/federation.ts';
import type { SignedSessionOutcome } from '../../domain/sessionOutcome.ts';

/** One unit's data (DESIGN.md's UnitData): a batch of items its creator proposes, or its signature of header(i). */
export type UnitData = { kind: 'batch'; items: readonly ConsensusItem[] } | { kind: 'signature'; signature: Uint8Array };

export interface OrderedUnit {
  creator: PeerId;
  round: number;
  data: UnitData;
  /** A broadcast unit's hash and data as ordered, recorded as UnitOrdered before its items. */
  recorded?: { hash: string; data: Uint8Array };
}

export type OrderingEvent = { kind: 'unit'; unit: OrderedUnit } | { kind: 'signedOutcome'; outcome: SignedSessionOutcome };

export interface SessionOrdering {
  /**
   * Whether the units of this session are delivered again from its first one after a restart (a
   * broadcast replaying its backup): then the engine skips the items it already recorded, which
   * must be identical. Otherwise units continue after what the session recorded.
   */
  readonly replaysRecordedItems: boolean;
  /**
   * How many events `next` would return without waiting (optional): while more are ready, the
   * engine keeps processing before it commits, so units ordered together share one append.
   */
  ready?(): number;
  /** The next event, or undefined once `signal` aborted (the engine stops). */
  next(signal: AbortSignal): Promise<OrderingEvent | undefined>;
  /** This guardian's signature of header(i), to be ordered in one of its next units. */
  proposeSignature(signature: Uint8Array): void;
  /** The session is over: release its timers and links; once `completed`, its backup too. */
  close(completed: boolean): Promise<void>;
}

export interface Ordering {
  /** Starts ordering `session`, which opened at `openedAt` (ms since the epoch). */
  openSession(session: number, openedAt: number): SessionOrdering;
}
