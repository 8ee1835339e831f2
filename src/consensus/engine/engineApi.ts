/**
 * The engine's contract with its owner (the guardian): what it is started with, and the handle it
 * returns. The consensus itself reads top to bottom in engine.ts.
 */
import type { Observable } from 'rxjs';
import type { Keychain } from '../../domain/keychain.ts';
import type { LedgerRules, LedgerState } from '../../domain/ledger.ts';
import type { EventLog, Position } from '../../streams/eventLog.ts';
import type { ConsensusMetrics } from '../metrics.ts';
import type { Ordering } from './ordering.ts';
import type { TxStatus } from './outcomeWaiters.ts';
import type { SignatureChecker } from './signatureChecks.ts';
import type { SubmitOutcome } from './submissions.ts';
import type { SubmissionQueue } from './submissionQueue.ts';

export interface SessionSummary {
  session: number;
  header: string;
  itemCount: number;
  /** Wall time the session was open, ms. */
  durationMs: number;
}

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineOptions {
  /** The schema-checked log. */
  log: EventLog;
  keychain: Keychain;
  /** Ledger rules; the engine substitutes its own `verify` (own items' signatures were checked at submission). */
  rules: LedgerRules;
  checker: SignatureChecker;
  sessionSeconds: number;
  /** Rounds before a session's header is signed (DESIGN.md; n = 1 ends its rounds by the session timer). */
  roundsPerSession?: number;
  queueCapacity: number;
  /** Most items per commit (one append, one fsync), and per unit of the n = 1 ordering. Default 1024. */
  maxBatch?: number;
  /**
   * Longest stretch of item processing without yielding to the event loop, ms (default 8), so the
   * engine never holds every API request behind it for long.
   */
  maxBatchMs?: number;
  /**
   * Longest a processed item waits for its commit while more ordered units are ready, ms (default
   * 25): units ordered back to back share one append, but a busy engine still commits often.
   */
  commitWindowMs?: number;
  /** The ordering the engine consumes; default: the n = 1 ordering over the submission queue. */
  ordering?: (proposals: SubmissionQueue) => Ordering;
  /**
   * When a completed session is also checkpointed: only once at least `minEvents` events were
   * appended since `lastPosition`, the newest checkpoint's position. A snapshot costs O(state), so
   * one per session would make the log grow O(sessions x state). Default { minEvents: 0 }: every session.
   */
  checkpointPolicy?: { minEvents: number; lastPosition: Position };
  /** The ledger state after every event up to and including `position` (the ledger projection). */
  seedLedger(position: Position): Promise<LedgerState>;
  /** After a session completed at `position`: snapshot the projections once they caught up. */
  checkpoint?(session: number, position: Position): Promise<void>;
  metrics?: ConsensusMetrics;
  logger?: EngineLogger;
  now?: () => number;
}

export interface Engine {
  submitTransaction(txHex: string): Promise<SubmitOutcome>;
  /** Admin: a deposit this guardian observed. The returned id is the item's hash (sha256(enc(AcceptedItem))). */
  observeDeposit(d: { depositId: string; amount: bigint; recipient: string }): Promise<SubmitOutcome>;
  /** What the engine itself knows (recent outcomes, pending); undefined when it does not know the txid. */
  knownStatus(txid: string): TxStatus | undefined;
  /** Resolves with the txid's outcome once recorded, or undefined after `waitMs` / on abort. */
  waitForOutcome(txid: string, waitMs: number, signal?: AbortSignal): Promise<TxStatus | undefined>;
  /** `waitForOutcome` for many txids at once: in order, with what is known at the timeout. */
  waitForOutcomes(txids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<(TxStatus | undefined)[]>;
  currentSession(): number;
  scheduleShutdown(afterSession: number): void;
  readonly sessionCompleted$: Observable<SessionSummary>;
  /** Resolves when the engine ended (stop or scheduled shutdown); rejects with the fatal error that halted it. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** An impossible state (negative audit, a failed commit, a conflicting outcome): the guardian halts. */
export class ConsensusFailure extends Error {
  override readonly name = 'ConsensusFailure';
}
