import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { compiledWorkerUrl } from '../../runtime/threads/compiledWorker.ts';
import { newWorker } from '../../runtime/threads/workerExecArgv.ts';
import type { EventLog, Position, RecordedEventText } from '../../streams/eventLog.ts';
import { openEventLog } from '../../streams/openEventLog.ts';
import type { CheckedSnapshot } from '../storedSnapshots.ts';
import { standardProjections } from '../standardProjections.ts';
import { RelayWriter, relayedLog } from './relay.ts';
import type { ReplayLogLocation, ReplayOptions } from './replayOptions.ts';
import { problemCounts, type ReplayProblem, type ReplayReport } from './replayReport.ts';
import { replayShare, type ShareOptions, type ShareResult } from './share.ts';
import { concludeDeferred, headScans, ownHashesChecked, type SnapshotScan } from './snapshotScan.ts';

/**
 * Replay on two threads. The worker thread folds ledger, audit and transactions (the larger share:
 * its young generation can be sized for it, WORKER_YOUNG_GENERATION_MB) from the events this
 * thread reads and relays to it; this thread folds the rest and checks the sessions.
 */
const WORKER_SHARE = ['ledger', 'audit', 'transactions'];

/**
 * The worker's young generation: 64 MB semi-spaces instead of the default 16 MB, since a fold's
 * page of events and the states it builds outlive many scavenges of the default size. The calling
 * thread's size is fixed by the process's flags.
 */
const WORKER_YOUNG_GENERATION_MB = 192;

/** What a worker thread is asked once it has started (it loads the code meanwhile): plain data (structured clone). */
export interface WorkerShareRequest {
  projections: string[];
  elsewhere: string[];
  fromCheckpoint?: number;
  total?: number;
  /** The scan of this share's checkpoint streams, made by the calling thread. */
  snapshotScan?: SnapshotScan;
  /** Positions of the SnapshotTaken events of the other projections' checkpoint streams, which the calling thread reads and checks. */
  scannedElsewhere?: Position[];
  /** The events the calling thread reads, relayed (relay.ts): the worker reads them from here instead of the log. */
  relay?: MessagePort;
}

/** The worker thread's share (what replayWorker.ts runs): it opens the log itself. */
export async function workerShare(where: ReplayLogLocation, request: WorkerShareRequest): Promise<ShareResult> {
  const opened = await openEventLog(where.location, { guardian: where.guardian });
  const log = request.relay === undefined ? opened : relayedLog(opened, request.relay, where.guardian);
  try {
    return await replayShare(log, {
      ...shareOf(request),
      ...(request.snapshotScan === undefined ? {} : { snapshotScan: await ownHashesChecked(log, request.snapshotScan) }),
      projections: standardProjections()
        .filter((p) => request.projections.includes(p.name))
        .map((p) => p.newestOnly?.() ?? p),
    });
  } finally {
    await log.close();
  }
}

/** The share options a request names, for whichever thread does it. */
function shareOf(request: WorkerShareRequest): Omit<ShareOptions, 'projections'> {
  return {
    passOverSnapshots: true,
    verifySessions: false,
    elsewhere: request.elsewhere,
    ...(request.snapshotScan === undefined ? {} : { snapshotScan: request.snapshotScan }),
    ...(request.scannedElsewhere === undefined ? {} : { scannedElsewhere: request.scannedElsewhere }),
    ...(request.fromCheckpoint === undefined ? {} : { fromCheckpoint: request.fromCheckpoint }),
    ...(request.total === undefined ? {} : { total: request.total }),
  };
}

interface ReplayWorker {
  ask(request: WorkerShareRequest, transferList: MessagePort[]): Promise<ShareResult>;
  close(): Promise<void>;
}

/** A replay worker, started before it is told what to do (so its code loads meanwhile). */
function startReplayWorker(where: ReplayLogLocation, signal: AbortSignal | undefined): ReplayWorker {
  const worker = newWorker(compiledWorkerUrl('projections/replay/replayWorker.bundle.js'), { workerData: where, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  const onAbort = () => void worker.terminate();
  signal?.addEventListener('abort', onAbort);
  const result = new Promise<ShareResult>((resolve, reject) => {
    worker.once('message', (message: { ok: true; result: ShareResult } | { ok: false; message: string }) => {
      if (message.ok) resolve(message.result);
      else reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the replay worker stopped (exit code ${code})`)));
  });
  // Observed at once, so a worker failure while this thread is busy is not an unhandled rejection.
  result.catch(() => undefined);
  return {
    ask(request, transferList) {
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
 * Both shares read the same log, which is append-only: a worker that reads for itself (from a
 * checkpoint) may see more events than this thread, so its projections can end further on; their
 * positions are in the report. A worker that cannot run is replaced by doing its share here afterwards.
 */
export async function replayOnTwoThreads(log: EventLog, options: ReplayOptions, where: ReplayLogLocation): Promise<ReplayReport> {
  const started = performance.now();
  const worker = startReplayWorker(where, options.signal);
  try {
    return await twoShares(log, options, worker, started);
  } finally {
    await worker.close();
  }
}

async function twoShares(log: EventLog, options: ReplayOptions, worker: ReplayWorker, started: number): Promise<ReplayReport> {
  const all = standardProjections();
  const hereProjections = all.filter((p) => !WORKER_SHARE.includes(p.name));
  const workerProjections = all.filter((p) => WORKER_SHARE.includes(p.name));
  const { onProgress, progressEvery, signal, fromCheckpoint, total } = options;
  // From position 0, this thread reads every stored snapshot (states: most of a log's bytes) once,
  // checks the own hash of each stored as canonical text, and sends the worker the positions and
  // hashes of its own: both folds pass over them all. The own hash of any other snapshot is checked
  // by the share that compares it: the worker before its fold, this thread after its own.
  const texts = new Map<Position, RecordedEventText>();
  const scans = fromCheckpoint === undefined ? await headScans(log, [workerProjections, hereProjections], texts, new Set(hereProjections.map((p) => p.name))) : undefined;
  const [workerScan, hereScan] = scans ?? [];
  // From position 0 both shares read the same events: this thread relays what it reads, and the worker reads nothing itself.
  const channel = fromCheckpoint === undefined ? new MessageChannel() : undefined;
  const request: WorkerShareRequest = {
    projections: workerProjections.map((p) => p.name),
    elsewhere: hereProjections.map((p) => p.name),
    ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
    ...(total === undefined ? {} : { total }),
    ...(workerScan === undefined ? {} : { snapshotScan: workerScan }),
    ...(hereScan === undefined ? {} : { scannedElsewhere: hereScan.scanned }),
  };
  const own = new Map<Position, CheckedSnapshot>();
  let here: ShareResult;
  let hereDeferred: ReplayProblem[];
  let there: ShareResult;
  try {
    const fromWorker = worker.ask({ ...request, ...(channel === undefined ? {} : { relay: channel.port2 }) }, channel === undefined ? [] : [channel.port2]);
    const relay = channel === undefined ? undefined : new RelayWriter(channel.port1);
    // A worker that stops takes nothing more: this thread must not wait for it.
    fromWorker.catch(() => relay?.abandon());
    here = await replayShare(log, {
      passOverSnapshots: true,
      verifySessions: true,
      projections: hereProjections.map((p) => p.newestOnly?.() ?? p),
      elsewhere: workerProjections.map((p) => p.name),
      ...(relay === undefined ? {} : { relay }),
      ...(workerScan === undefined ? {} : { scannedElsewhere: workerScan.scanned }),
      ...(hereScan === undefined ? {} : { snapshotScan: hereScan }),
      ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
      ...(total === undefined ? {} : { total }),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(progressEvery === undefined ? {} : { progressEvery }),
      ...(signal === undefined ? {} : { signal }),
    });
    // This share's stored snapshots' own hashes, checked while the worker finishes (it checks its own).
    hereDeferred = await concludeDeferred(log, here.deferred, own, texts);
    texts.clear();
    try {
      there = await fromWorker;
    } catch {
      signal?.throwIfAborted();
      there = await replayShare(log, { ...shareOf(request), projections: workerProjections, ...(signal === undefined ? {} : { signal }) });
    }
  } finally {
    // Whether or not either share failed: the relay's port is this thread's to close.
    channel?.port1.close();
  }
  const thereDeferred = await concludeDeferred(log, there.deferred, own);
  // Session findings first, then the worker's (ledger, audit and transactions), then this thread's other projections'.
  const isSession = (p: ReplayProblem) => p.kind === 'header' || p.kind === 'signature';
  const problems = [...here.report.problems.filter(isSession), ...there.report.problems, ...thereDeferred, ...here.report.problems.filter((p) => !isSession(p)), ...hereDeferred];
  const byName = new Map([...here.report.projections, ...there.report.projections].map((p) => [p.name, p]));
  return {
    events: here.report.events,
    sessions: here.report.sessions,
    ...problemCounts(problems),
    snapshotsChecked: here.report.snapshotsChecked + there.report.snapshotsChecked,
    snapshotsUnchecked: here.report.snapshotsUnchecked + there.report.snapshotsUnchecked,
    problems,
    from: here.report.from < there.report.from ? here.report.from : there.report.from,
    projections: all.map((p) => byName.get(p.name)!),
    durationMs: performance.now() - started,
  };
}
