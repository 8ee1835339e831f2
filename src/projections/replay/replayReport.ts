import type { Position } from '../../streams/eventLog.ts';

/** One finding of a replay. */
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

/** The report's counts of `problems`, and whether it passes: a missing checkpoint only means a rebuild from 0. */
export function problemCounts(problems: readonly ReplayProblem[]): Pick<ReplayReport, 'headerMismatches' | 'signatureFailures' | 'snapshotMismatches' | 'ok'> {
  const count = (kind: ReplayProblem['kind']) => problems.filter((p) => p.kind === kind).length;
  return { headerMismatches: count('header'), signatureFailures: count('signature'), snapshotMismatches: count('snapshot'), ok: problems.every((p) => p.kind === 'checkpoint') };
}
