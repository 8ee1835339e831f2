import type { EventLog } from '../../streams/eventLog.ts';
import { standardProjections } from '../standardProjections.ts';
import { storedFederationProblems } from '../storedDataChecks.ts';
import type { ReplayOptions } from './replayOptions.ts';
import type { ReplayReport } from './replayReport.ts';
import { replayShare } from './share.ts';
import { replayOnTwoThreads } from './twoThreads.ts';

export type { ReplayLogLocation, ReplayOptions, ReplayProgress } from './replayOptions.ts';
export type { ReplayProblem, ReplayReport } from './replayReport.ts';
export { estimateEventCount } from './eventCount.ts';

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
export async function replay(log: EventLog, options: ReplayOptions = {}): Promise<ReplayReport> {
  const federation = (await storedFederationProblems(log, options.configured)).map((detail) => ({ kind: 'federation' as const, detail }));
  const report = await replayOnOneOrTwoThreads(log, options);
  return federation.length === 0 ? report : { ...report, problems: [...federation, ...report.problems], ok: false };
}

async function replayOnOneOrTwoThreads(log: EventLog, options: ReplayOptions): Promise<ReplayReport> {
  const { parallel, projections } = options;
  if (parallel !== undefined && projections === undefined && parallel.location.kind !== 'memory') return replayOnTwoThreads(log, options, parallel);
  const { fromCheckpoint, total, onProgress, progressEvery, signal } = options;
  const { report } = await replayShare(log, {
    // Replay reads only each projection's newest state (its comparisons hash a state as the fold reaches a snapshot's position).
    projections: projections ?? standardProjections().map((p) => p.newestOnly?.() ?? p),
    // Another projection than the standard ones may fold SnapshotTaken: every event is then read.
    passOverSnapshots: projections === undefined,
    verifySessions: true,
    ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
    ...(total === undefined ? {} : { total }),
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(progressEvery === undefined ? {} : { progressEvery }),
    ...(signal === undefined ? {} : { signal }),
  });
  return report;
}
