/**
 * The public contract of a broadcast node: what the engine passes to `startBroadcastNode` and what it
 * gets back (the ordered units, events, status). Kept apart from the node loop so that loop reads
 * top to bottom; `broadcastNode.ts` re-exports all of it.
 */
import type { Observable } from 'rxjs';
import type { AlerterSize } from './alerts/alerter.ts';
import type { UnitSaver } from './backup/backup.ts';
import type { Clock } from './clock.ts';
import type { BroadcastConfig } from './config.ts';
import type { CreationState } from './creation/ownUnits.ts';
import type { UnitRejection } from './dag/validation.ts';
import type { Network } from './network/network.ts';
import type { UnitSigner } from './signer.ts';

/** A unit in the agreed total order. */
export interface OrderedUnit {
  creator: number;
  round: number;
  /** Unit hash, lowercase hex. */
  hash: string;
  data: Uint8Array;
}

/**
 * Why a message or unit from a peer was not used. Besides the unit rules: `oversized` (frame above
 * maxMessageBytes, not decoded), `wrongVersion`, `otherSession` (dropped; see onOtherSession),
 * `badControlHash` (a round-0 unit whose control hash is not that of no parents), `roundTooFarAhead`
 * (more than maxRoundsAhead above our DAG), `overBudget` (the sender's request or verification budget
 * is spent; the unit comes again later).
 */
export type RejectionReason =
  | UnitRejection
  | 'undecodable'
  | 'badParents'
  | 'oversized'
  | 'wrongVersion'
  | 'otherSession'
  | 'badControlHash'
  | 'roundTooFarAhead'
  | 'overBudget';

export type BroadcastEvent =
  | { kind: 'rejected'; from: number; reason: RejectionReason; detail?: string }
  | { kind: 'unitCreated'; round: number; hash: string }
  | { kind: 'forkDetected'; forker: number }
  | { kind: 'alertCommitted'; forker: number; sender: number }
  | { kind: 'creationHalted'; reason: string }
  | { kind: 'failed'; error: unknown };

export type { CreationState };

export interface BroadcastStatus {
  /** The round of this node's newest own unit (-1 before the first). */
  round: number;
  creation: CreationState;
  dagSize: number;
  ordered: number;
  forkers: number[];
  alertsCommitted: number;
  /** What the alerter holds: bounded by n, whatever peers send. */
  alerter: AlerterSize;
  pendingRequests: number;
  /** Requests sent so far (each peer asked counts once). */
  requestsSent: number;
  /** Peers' requests left unanswered because the asker's budget was spent. */
  answersRefused: number;
  rejected: Partial<Record<string, number>>;
}

export interface BroadcastNodeOptions {
  config: BroadcastConfig;
  signer: UnitSigner;
  network: Network;
  clock: Clock;
  /** Every unit is saved through it before it is used or sent. */
  saver: UnitSaver;
  /** Units saved by an earlier run of this session (the `dag-<i>` stream), in saved order. */
  backup?: readonly Uint8Array[];
  /** Called once per own unit, when it is created: the unit's data. */
  data: (round: number) => Uint8Array;
  /** Stops every timer and listener of the node; ordered$ completes. */
  signal: AbortSignal;
  /** Seeds the choice of peers for requests (deterministic simulations). */
  seed?: number;
  onEvent?: (event: BroadcastEvent) => void;
  /**
   * A peer sent a message of another session (same wire version); the message itself is dropped.
   * The engine may answer with that session's signed outcome if it is complete (DESIGN.md). Called
   * at most once per peer per rebroadcastMs, so a peer cannot make the engine work per message.
   */
  onOtherSession?: (from: number, session: bigint) => void;
}

export interface BroadcastNode {
  /** Ordered units, in the total order every honest node outputs. Errors if the backup fails. */
  readonly ordered$: Observable<OrderedUnit>;
  status(): BroadcastStatus;
}
