import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import type { EventLog, Position, RecordedEventText } from '../streams/eventLog.ts';
import { standardProjections } from './standardProjections.ts';
import { RelayWriter, relayedLog } from './replayRelay.ts';
import { newWorker } from '../runtime/threads/workerExecArgv.ts';
import { compiledWorkerUrl } from '../runtime/threads/compiledWorker.ts';
import type { ReplayOptions, ReplayProblem, ReplayReport } from './replay.ts';
import { estimateEventCount, replayShareHere, replayVariant, type ShareResult } from './replayShare.ts';
import { concludeDeferred, headScans, ownHashesChecked, type SnapshotScan } from './replaySnapshotScan.ts';
import { planSegments, segmentedReplay, segmentShare, type SegmentPlan } from './replaySegments.ts';
import type { CheckedSnapshot } from './storedSnapshots.ts';

/**
 * Replay on two threads: the worker thread's start and its share (replayShare, what the worker's
 * bundle exports), and the default split, where the worker folds ledger, audit and transactions
 * from the events this thread reads and relays (ledgerSplitReplay).
 */

/**
 * The projections a parallel replay folds on the worker thread: the ledger fold (shared by
 * `ledger` and `audit`) and `transactions`, the larger share, because the worker's young
 * generation can be sized for it (see WORKER_YOUNG_GENERATION_MB; the calling thread's is fixed by
 * the process's flags). The calling thread reads the log (relaying it to the worker), takes the
 * rest and checks the sessions. Measured on the bench's log, `transactions` on the calling thread
 * grew that thread's share by ~0.5 s while the worker waited for pages.
 */
const WORKER_SHARE = ['ledger', 'audit', 'transactions'];

/**
 * The worker's young generation (three semi-spaces' worth in V8's terms): 64 MB semi-spaces instead
 * of the default 16 MB. A fold's page of events and the states it builds outlive many scavenges of
 * the default size; measured with --max-semi-space-size=64 on one thread, a replay share cost
 * 15-25% less CPU. The calling thread's size is fixed by the process's flags.
 */
const WORKER_YOUNG_GENERATION_MB = 192;

/** Where a replay worker opens the log (its workerData); it is then asked for one share (ReplayShareRequest). */
export interface ReplayWorkerData {
  location: EventLogLocation;
  guardian: number;
}

/** What a worker thread is asked once it has started (it loads the code meanwhile): plain data (structured clone). */
export type ReplayShareRequest =
  | {
      /** Some projections over the whole log, and the session checks if asked. */
      kind: 'projections';
      projections: string[];
      elsewhere: string[];
      verifySessions: boolean;
      fromCheckpoint?: number;
      total?: number;
      /** The scan of this share's checkpoint streams, made by the calling thread. */
      snapshotScan?: SnapshotScan;
      /** Positions of the SnapshotTaken events of the other projections' checkpoint streams, which the calling thread reads and checks: passed over here. */
      scannedElsewhere?: Position[];
      /** The events the calling thread reads, relayed (replayRelay.ts): the worker reads them from here instead of the log. */
      relay?: MessagePort;
    }
  | {
      /** Some projections from a checkpoint to the end of the log, and the sessions after it if asked. */
      kind: 'segment';
      plan: SegmentPlan;
      projections: string[];
      verifySessions: boolean;
      total?: number;
      progressEvery?: number;
      /** Where the worker posts its progress ({ events, position }). */
      progressPort?: MessagePort;
    };

/** The second segment's share, and the projections it could not start from the checkpoint's snapshots (and why). */
export type WorkerResult = ShareResult & { unstarted?: Record<string, string> };

/** A worker's share of a parallel replay. */
export async function replayShare(data: ReplayWorkerData, request: ReplayShareRequest): Promise<WorkerResult> {
  const opened = await openEventLog(data.location, { guardian: data.guardian });
  const log = request.kind === 'projections' && request.relay !== undefined ? relayedLog(opened, request.relay, data.guardian) : opened;
  try {
    if (request.kind === 'segment') return await segmentShare(log, request);
    const { share } = await replayShareHere(log, {
      ...(request.snapshotScan === undefined ? {} : { snapshotScan: await ownHashesChecked(log, request.snapshotScan) }),
      ...(request.scannedElsewhere === undefined ? {} : { scannedElsewhere: request.scannedElsewhere }),
      projections: standardProjections()
        .filter((p) => request.projections.includes(p.name))
        .map(replayVariant),
      verifySessions: request.verifySessions,
      elsewhere: request.elsewhere,
      ...(request.fromCheckpoint === undefined ? {} : { fromCheckpoint: request.fromCheckpoint }),
      ...(request.total === undefined ? {} : { total: request.total }),
    });
    return share;
  } finally {
    await log.close();
  }
}

/** A replay worker, started before it is told what to do (loading the code takes a few tenths of a second). */
export interface ReplayWorker {
  ask(request: ReplayShareRequest, transferList?: MessagePort[]): Promise<WorkerResult>;
  close(): Promise<void>;
}

function startReplayWorker(parallel: ReplayWorkerData, signal: AbortSignal | undefined): ReplayWorker {
  const worker = newWorker(compiledWorkerUrl('projections/replayWorker.js'), {
    workerData: parallel,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  const onAbort = () => void worker.terminate();
  signal?.addEventListener('abort', onAbort);
  const result = new Promise<WorkerResult>((resolve, reject) => {
    worker.once('message', (message: { ok: true; result: WorkerResult } | { ok: false; message: string }) => {
      if (message.ok) resolve(message.result);
      else reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the replay worker stopped (exit code ${code})`)));
  });
  // Observed at once, so a worker failure while this thread is busy is not an unhandled rejection.
  result.catch(() => undefined);
  return {
    ask(request, transferList = []) {
      worker.postMessage(request, transferList);
      return result;
    },
    async close() {
      signal?.removeEventListener('abort', onAbort);
      await worker.terminate();
    },
  };
}

/**
 * Replay on two threads. The worker starts first (it loads the code meanwhile). By default the
 * worker folds the ledger for `ledger` and `audit` over the whole log while this thread does the
 * rest (ledgerSplitReplay); with split 'checkpoint', from position 0, where a checkpoint lies near
 * the middle of the log (planSegments), the log is cut there (segmentedReplay).
 */
export async function parallelReplay(log: EventLog, options: ReplayOptions, parallel: ReplayWorkerData & { split?: 'ledger' | 'checkpoint' }): Promise<ReplayReport> {
  const started = performance.now();
  const worker = startReplayWorker({ location: parallel.location, guardian: parallel.guardian }, options.signal);
  try {
    if (options.fromCheckpoint === undefined && parallel.split === 'checkpoint') {
      const total = options.total ?? (await estimateEventCount(log, []));
      const planned = await planSegments(log, total);
      if (planned !== undefined) return await segmentedReplay(log, options, worker, planned, total, started, WORKER_SHARE);
    }
    return await ledgerSplitReplay(log, options, worker, started);
  } finally {
    await worker.close();
  }
}

/**
 * Replay on two threads without a checkpoint to cut at: the worker folds the ledger (for `ledger`
 * and `audit`) while this thread reads the log once more for the other projections and the
 * session headers and signatures, and reports the progress. Both read the same log, which is
 * append-only: a worker may see more events than this thread, so its projections can end further
 * on; their positions are in the report. A worker that cannot run is replaced by doing its share
 * here afterwards.
 */
async function ledgerSplitReplay(log: EventLog, options: ReplayOptions, worker: ReplayWorker, started: number): Promise<ReplayReport> {
  const all = standardProjections();
  const hereProjections = all.filter((p) => !WORKER_SHARE.includes(p.name));
  const workerProjections = all.filter((p) => WORKER_SHARE.includes(p.name));
  const { batchVerifier, onProgress, progressEvery, signal, fromCheckpoint, total } = options;
  const shared = { ...(signal === undefined ? {} : { signal }), ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }), ...(total === undefined ? {} : { total }) };
  // From position 0, this thread reads every stored snapshot (states: most of a log's bytes) once,
  // checks the own hash of each stored as canonical text, and sends the worker the positions and
  // hashes of its own: the folds pass over them all. The own hash of any other snapshot is checked
  // by the share that compares it: the worker before its fold (this thread's pages wait for it
  // meanwhile), this thread after its own, while the worker finishes.
  const texts = new Map<Position, RecordedEventText>();
  const scans = fromCheckpoint === undefined ? await headScans(log, [workerProjections, hereProjections], texts, new Set(hereProjections.map((p) => p.name))) : undefined;
  const [workerScan, hereScan] = scans ?? [];
  // From position 0 both shares read the same events (they pass over the same snapshots): this
  // thread relays what it reads, and the worker reads nothing itself.
  const channel = fromCheckpoint === undefined ? new MessageChannel() : undefined;
  const own = new Map<Position, CheckedSnapshot>();
  let here: ShareResult;
  let hereDeferred: ReplayProblem[];
  let there: ShareResult;
  try {
    const fromWorker = worker.ask(
      {
        ...(channel === undefined ? {} : { relay: channel.port2 }),
        kind: 'projections',
        projections: workerProjections.map((p) => p.name),
        elsewhere: hereProjections.map((p) => p.name),
        verifySessions: false,
        ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
        ...(total === undefined ? {} : { total }),
        ...(workerScan === undefined ? {} : { snapshotScan: workerScan }),
        ...(hereScan === undefined ? {} : { scannedElsewhere: hereScan.scanned }),
      },
      channel === undefined ? [] : [channel.port2],
    );
    const relay = channel === undefined ? undefined : new RelayWriter(channel.port1);
    // A worker that stops takes nothing more: this thread must not wait for it.
    fromWorker.catch(() => relay?.abandon());
    ({ share: here } = await replayShareHere(log, {
      ...shared,
      ...(relay === undefined ? {} : { relay }),
      ...(workerScan === undefined ? {} : { scannedElsewhere: workerScan.scanned }),
      ...(hereScan === undefined ? {} : { snapshotScan: hereScan }),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(progressEvery === undefined ? {} : { progressEvery }),
      ...(batchVerifier === undefined ? {} : { batchVerifier }),
      projections: hereProjections.map(replayVariant),
      verifySessions: true,
      elsewhere: workerProjections.map((p) => p.name),
    }));
    // This share's stored snapshots' own hashes, checked while the worker finishes (it checks its own).
    hereDeferred = await concludeDeferred(log, here.deferred, own, texts);
    texts.clear();
    try {
      there = await fromWorker;
    } catch {
      signal?.throwIfAborted();
      there = (await replayShareHere(log, { ...shared, ...(workerScan === undefined ? {} : { snapshotScan: workerScan }), ...(hereScan === undefined ? {} : { scannedElsewhere: hereScan.scanned }), projections: workerProjections, verifySessions: false, elsewhere: hereProjections.map((p) => p.name) })).share;
    }
  } finally {
    // Whether or not either share failed: the relay's port is this thread's to close.
    channel?.port1.close();
  }
  const thereDeferred = await concludeDeferred(log, there.deferred, own);
  // Session findings first, then the worker's (ledger, audit and transactions), then this thread's other projections'.
  const isSession = (p: ReplayProblem) => p.kind === 'header' || p.kind === 'signature';
  const problems = [...here.report.problems.filter(isSession), ...there.report.problems, ...thereDeferred, ...here.report.problems.filter((p) => !isSession(p)), ...hereDeferred];
  const count = (kind: ReplayProblem['kind']) => problems.filter((p) => p.kind === kind).length;
  const byName = new Map([...here.report.projections, ...there.report.projections].map((p) => [p.name, p]));
  return {
    events: here.report.events,
    sessions: here.report.sessions,
    headerMismatches: count('header'),
    signatureFailures: count('signature'),
    snapshotMismatches: count('snapshot'),
    snapshotsChecked: here.report.snapshotsChecked + there.report.snapshotsChecked,
    snapshotsUnchecked: here.report.snapshotsUnchecked + there.report.snapshotsUnchecked,
    problems,
    ok: problems.every((p) => p.kind === 'checkpoint'),
    from: here.report.from < there.report.from ? here.report.from : there.report.from,
    projections: all.map((p) => byName.get(p.name)!),
    durationMs: performance.now() - started,
  };
}
