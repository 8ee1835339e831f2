import type { EventLog, Position } from '../streams/eventLog.ts';
import type { FederationConfigured } from '../streams/events.ts';
import type { BatchVerifier } from '../runtime/signatures/batchVerifier.ts';
import type { AnyProjection } from './projection.ts';
import type { RelayWriter } from './replayRelay.ts';
import { parallelReplay, type ReplayWorkerData } from './replayParallel.ts';
import { replayShareHere } from './replayShare.ts';
import { storedFederationProblems } from './storedDataChecks.ts';
import type { SnapshotScan } from './replaySnapshotScan.ts';

export { estimateEventCount } from './replayShare.ts';
export { planSegments } from './replaySegments.ts';

/**
 * `fedlog replay`: rebuild every projection from the log (from position 0, or from the checkpoints
 * of one session), and on the way re-verify what the log claims about itself:
 *   - every session header: header(i) recomputed from the ItemAccepted items of session-<i>;
 *   - every SessionCompleted signature set: at least threshold valid signatures from distinct
 *     federation peers (keys from FederationConfigured) over the stored header;
 *   - every stored snapshot: its state hash against the rebuilt state at its position;
 *   - FederationConfigured against its own consensusHash, and every derived field of a session
 *     (itemHash, txid, index, itemCount, SignatureRecorded) against what it is derived from
 *     (storedDataChecks.ts; net assets are checked by the ledger's fold).
 * Transaction signatures inside items are not re-verified (see ledger.ts): the header check covers
 * their bytes, and a threshold of guardians signed the header.
 */

export interface ReplayProgress {
  events: number;
  /** Events in the log, estimated from the position of its newest event (exact for sqlite and memory logs, whose positions are dense). */
  total?: number;
  position: Position;
}

export interface ReplayOptions {
  /** The guardian config's FederationConfigured, when there is one: an edited field of the log's is then named. */
  configured?: FederationConfigured;
  /** Start every projection from its checkpoint taken at this session (one without such a checkpoint starts from 0). */
  fromCheckpoint?: number;
  onProgress?: (progress: ReplayProgress) => void;
  /** Report progress every this many events (default 10,000), and once at the end. */
  progressEvery?: number;
  /** The caller's `estimateEventCount` of this log, if it has one (each estimate is a few dozen reads). */
  total?: number;
  /** Default standardProjections(). */
  projections?: readonly AnyProjection[];
  /** Verifies the session signatures (default: a worker-thread batch verifier over the fastest backend, closed afterwards). */
  batchVerifier?: BatchVerifier;
  signal?: AbortSignal;
  /**
   * Where `log` is stored, so that a worker thread can open it too. Only with the standard
   * projections; not for an in-memory log. `split` is how the two threads share the work:
   *   - 'ledger' (default): the worker folds the ledger (for `ledger` and `audit`) over the whole
   *     log while this thread replays the four lighter projections and checks the sessions;
   *   - 'checkpoint': the log is cut at a checkpoint near its middle (segmentedReplay), else as 'ledger'.
   * Measured on the 140k-event log of a 60 s load run, 'checkpoint' gave the same longest thread
   * (CPU) as 'ledger' and a quarter more CPU in all: this thread then folds the ledger too, with
   * the process's young generation, and the worker decodes the checkpoint's snapshots.
   */
  parallel?: ReplayWorkerData & { split?: 'ledger' | 'checkpoint' };
  /** Internal (the calling thread's share of a parallel replay from position 0): every event read is relayed to the worker, which reads none. */
  relay?: RelayWriter;
  /** Internal (a worker's share): skip the header and signature checks. */
  verifySessions?: boolean;
  /** Internal: projections another share replays; their snapshots are not this share's to count. */
  elsewhere?: readonly string[];
  /** Internal: the scan of this share's checkpoint streams, made by the caller (scanSnapshots with this share's projections and start). */
  snapshotScan?: SnapshotScan;
  /** Internal: positions of SnapshotTaken events of `elsewhere` projections that another share read and checks: passed over here. */
  scannedElsewhere?: readonly Position[];
  /** Internal (a segment): fold no event after this position. */
  until?: Position;
  /** Internal (a segment): every projection starts at `position` in the state given for it; one without a state is left to another share. */
  start?: { position: Position; states: ReadonlyMap<string, unknown> };
  /** Internal (a segment): projections that broke before `start`: not folded, and their snapshots not comparable. */
  failed?: ReadonlySet<string>;
  /**
   * Internal (a segment): the sessions whose headers and signatures this share checks, each
   * wholly from its first event here; an event of another session is noted as `crossing`.
   */
  sessionRange?: { from: number; to: number };
  /** Internal: check only these sessions (those that crossed a segment's end), from every event read. */
  onlySessions?: readonly number[];
  /** Internal: skip hashing the final states for the report (a segment whose states another share continues). */
  finalHashes?: boolean;
}

export type ReplayProblem =
  | { kind: 'header'; session: number; detail: string; stored?: string; computed?: string }
  | { kind: 'signature'; session: number; detail: string }
  | { kind: 'snapshot'; projection: string; session: number; position: string; detail: string; stored?: string; computed?: string }
  | { kind: 'projection'; projection: string; position: string; detail: string }
  | { kind: 'checkpoint'; projection: string; detail: string }
  /** FederationConfigured does not hold (its consensusHash, keys, threshold). */
  | { kind: 'federation'; detail: string }
  /** The log's file is damaged (SQLite's integrity check; added by `fedlog replay`). */
  | { kind: 'file'; detail: string };

export interface ReplayReport {
  /** Events read. */
  events: number;
  /** Sessions whose header and signatures were verified. */
  sessions: number;
  headerMismatches: number;
  signatureFailures: number;
  snapshotMismatches: number;
  /** Snapshots compared with the rebuilt state. */
  snapshotsChecked: number;
  /** Snapshots of other versions or projections, or before the start (fromCheckpoint): not comparable. */
  snapshotsUnchecked: number;
  /** Every finding, in log order (signature findings last). */
  problems: ReplayProblem[];
  ok: boolean;
  from: Position;
  /** Each projection's rebuilt state and where it ended. */
  projections: Array<{ name: string; version: number; position: string; stateHash: string }>;
  durationMs: number;
}

export async function replay(log: EventLog, options: ReplayOptions = {}): Promise<ReplayReport> {
  const federation = (await storedFederationProblems(log, options.configured)).map((detail) => ({ kind: 'federation' as const, detail }));
  const report = options.parallel !== undefined && options.projections === undefined && options.parallel.location.kind !== 'memory' ? await parallelReplay(log, options, options.parallel) : await replayHere(log, options);
  return federation.length === 0 ? report : { ...report, problems: [...federation, ...report.problems], ok: false };
}

async function replayHere(log: EventLog, options: ReplayOptions): Promise<ReplayReport> {
  return (await replayShareHere(log, options)).share.report;
}
