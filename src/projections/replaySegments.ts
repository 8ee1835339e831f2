import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { START, type EventLog, type Position, type RecordedEventText } from '../streams/eventLog.ts';
import type { AnyProjection } from './projection.ts';
import { checkSnapshot, snapshotHeads, snapshotState, type CheckedSnapshot, type SnapshotHead } from './storedSnapshots.ts';
import { standardProjections } from './standardProjections.ts';
import type { ReplayOptions, ReplayProblem, ReplayProgress, ReplayReport } from './replay.ts';
import type { ReplayShareRequest, ReplayWorker, WorkerResult } from './replayParallel.ts';
import { replayShareHere, type DeferredComparison, type ShareResult, type StoredSnapshot } from './replayShare.ts';
import { byPositionThenEvent, concludeDeferred, TEXTS_KEPT, type SnapshotScan } from './replaySnapshotScan.ts';

/**
 * Replay cut at a checkpoint (opt-in, `split: 'checkpoint'`): this thread replays the log up to a
 * checkpoint near its middle while the worker starts from the snapshots there (planSegments,
 * segmentedReplay, and the worker's segmentShare).
 */

/**
 * Where a segmented replay splits the log: at a checkpoint, the second segment starting every
 * projection from its snapshot there.
 */
export interface SegmentPlan {
  /** The checkpoint's session (the second segment checks the sessions after it) and the position its snapshots hold. */
  session: number;
  at: Position;
  /** Each standard projection's snapshot at the checkpoint. */
  starts: Record<string, SnapshotHead>;
  /** Positions of the SnapshotTaken events of the checkpoint streams after `at`, passed over by the second segment. */
  passOver: Position[];
  /** The second segment's snapshots to compare (of positions after `at`), their own hashes checked by the calling thread. */
  pending: Record<string, StoredSnapshot[]>;
}

/** The second segment on a worker: its projections from their snapshots at the checkpoint, and the sessions after it if asked. */
export async function segmentShare(log: EventLog, request: ReplayShareRequest & { kind: 'segment' }): Promise<WorkerResult> {
  const { plan, progressPort } = request;
  const projections = standardProjections().filter((p) => request.projections.includes(p.name));
  try {
    const { states, unstarted } = await checkpointStates(log, projections, plan);
    const { share } = await replayShareHere(log, {
      projections,
      start: { position: plan.at, states },
      snapshotScan: secondScan(plan, new Set(request.projections)),
      sessionRange: { from: plan.session + 1, to: Infinity },
      verifySessions: request.verifySessions,
      ...(request.total === undefined ? {} : { total: request.total }),
      ...(request.progressEvery === undefined ? {} : { progressEvery: request.progressEvery }),
      ...(progressPort === undefined ? {} : { onProgress: (p: ReplayProgress) => progressPort.postMessage({ events: p.events, position: p.position }) }),
    });
    return { ...share, unstarted };
  } finally {
    progressPort?.close();
  }
}

/**
 * The states of the checkpoint's snapshots, parsed from their stored state text and decoded, not
 * checked: the first segment checks each snapshot's own hash and compares it with its rebuilt
 * state, and a projection that fails either is replayed again from that rebuilt state. A state
 * text that parses is the whole `state` of its event (the text around it is the fixed layout), so
 * what is checked there is what was decoded here.
 */
async function checkpointStates(log: EventLog, projections: readonly AnyProjection[], plan: SegmentPlan): Promise<{ states: Map<string, unknown>; unstarted: Record<string, string> }> {
  const states = new Map<string, unknown>();
  const unstarted: Record<string, string> = {};
  for (const projection of projections) {
    const head = plan.starts[projection.name]!;
    try {
      const state = await snapshotState(log, head);
      if (state === undefined) unstarted[projection.name] = 'the snapshot reads differently on a second read';
      else states.set(projection.name, projection.fromSnapshot(state));
    } catch (error) {
      unstarted[projection.name] = `state does not decode: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return { states, unstarted };
}

/** The second segment's snapshots, and its comparisons deferred to the first, for `projections` (the second segment replayed here). */
function secondScan(plan: SegmentPlan, names: ReadonlySet<string>): SnapshotScan {
  return { pending: Object.fromEntries(Object.entries(plan.pending).filter(([name]) => names.has(name))), scanned: plan.passOver, unchecked: 0 };
}

/** The first segment's end, where the second starts: from this share of the log's events on. */
const SPLIT_SHARE = 0.55;

/**
 * A checkpoint further off leaves one thread the longer share by more than the ledger split does
 * (measured on the 140k-event log of a 60 s load run, cut at 56%: the two threads' CPU within 5%
 * of each other, the same longest thread as the ledger split): the ledger split is used instead.
 */
const SPLIT_WITHIN = [0.4, 0.7] as const;

/**
 * Chooses the checkpoint a segmented replay splits at: one that every standard projection has a
 * snapshot of (of its version, all at one position), the nearest to SPLIT_SHARE of the log's
 * events. Reads only the snapshots' heads (their states are checked by the segment that compares
 * them). Undefined where no checkpoint fits or the log has no stored text to read heads from.
 */
export async function planSegments(log: EventLog, total: number | undefined): Promise<{ plan: SegmentPlan; firstScan: SnapshotScan; texts: Map<Position, RecordedEventText> } | undefined> {
  if (log.readStreamText === undefined || total === undefined) return undefined;
  const projections = standardProjections();
  const byName = new Map(projections.map((p) => [p.name, p]));
  const heads: SnapshotHead[] = [];
  const checkpoints = new Map<number, Map<string, SnapshotHead>>();
  // Kept for the own-hash checks (instead of reading megabytes again), up to a bound.
  const texts = new Map<Position, RecordedEventText>();
  let kept = 0;
  const keep = (event: RecordedEventText) => {
    if (kept + event.data.length > TEXTS_KEPT) return;
    kept += event.data.length;
    texts.set(event.position, event);
  };
  for (const projection of projections) {
    // Newest first: the newest snapshot of a session is the one taken at its position.
    for (const head of await snapshotHeads(log, projection.name, START, keep)) {
      heads.push(head);
      if (head.projection !== projection.name || head.version !== projection.version) continue;
      const checkpoint = checkpoints.get(head.session) ?? new Map<string, SnapshotHead>();
      checkpoints.set(head.session, checkpoint);
      if (!checkpoint.has(projection.name)) checkpoint.set(projection.name, head);
    }
  }
  const comparable = (head: SnapshotHead) => byName.get(head.projection)?.version === head.version;
  // A snapshot of a position after its own event is beyond what either segment expects.
  if (heads.some((head) => comparable(head) && head.at >= head.event)) return undefined;
  let chosen: { session: number; at: Position; starts: Map<string, SnapshotHead> } | undefined;
  const target = total * SPLIT_SHARE;
  for (const [session, starts] of checkpoints) {
    if (starts.size !== projections.length) continue;
    const at = starts.values().next().value!.at;
    if ([...starts.values()].some((head) => head.at !== at)) continue;
    if (Number(at) < total * SPLIT_WITHIN[0] || Number(at) > total * SPLIT_WITHIN[1]) continue;
    if (chosen === undefined || Math.abs(Number(at) - target) < Math.abs(Number(chosen.at) - target)) chosen = { session, at, starts };
  }
  if (chosen === undefined) return undefined;
  const at = chosen.at;
  const firstScan: SnapshotScan = { pending: {}, scanned: heads.filter((h) => h.event <= at).map((h) => h.event), unchecked: heads.filter((h) => !comparable(h)).length };
  const pending: Record<string, StoredSnapshot[]> = {};
  // Every comparison is handed back: this thread checks the snapshots' own hashes once its segment is folded.
  for (const head of heads) if (comparable(head)) ((head.at <= at ? firstScan.pending : pending)[head.projection] ??= []).push({ ...head, ownElsewhere: true });
  for (const list of [...Object.values(firstScan.pending), ...Object.values(pending)]) list.sort(byPositionThenEvent);
  return {
    plan: { session: chosen.session, at, starts: Object.fromEntries(chosen.starts), passOver: heads.filter((h) => h.event > at).map((h) => h.event), pending },
    firstScan,
    texts,
  };
}

/**
 * The log cut at a checkpoint (planSegments): this thread replays up to it and compares its states
 * there with the checkpoint's snapshots, which the worker starts from. Where they all match, the
 * worker started from the true states and its findings stand; a projection whose snapshot differs
 * (or does not hash or decode) is replayed again here from this thread's state, over the second
 * segment. Each thread checks the sessions on its side; a session with events on both sides (not
 * in a log the engine wrote) is checked again here over the whole log.
 */
export async function segmentedReplay(
  log: EventLog,
  options: ReplayOptions,
  worker: ReplayWorker,
  { plan, firstScan, texts }: { plan: SegmentPlan; firstScan: SnapshotScan; texts: Map<Position, RecordedEventText> },
  total: number | undefined,
  started: number,
  workerShare: readonly string[],
): Promise<ReplayReport> {
  const { onProgress, progressEvery, signal, batchVerifier } = options;
  const shared = { ...(signal === undefined ? {} : { signal }), ...(total === undefined ? {} : { total }), ...(batchVerifier === undefined ? {} : { batchVerifier }) };
  const progress = new MessageChannel();
  const all = standardProjections();
  // The second segment: the worker replays the ledger (ledger and audit, one fold) from the
  // checkpoint's snapshots and checks the sessions after it; this thread, once done with the
  // first, continues the lighter four from its own states there (the worker's snapshot decoding
  // and larger states leave it the longer share otherwise).
  const workerNames = new Set(workerShare);
  const hereNames = new Set(all.map((p) => p.name).filter((name) => !workerNames.has(name)));
  const fromWorker = worker.ask(
    {
      kind: 'segment',
      plan,
      projections: [...workerNames],
      verifySessions: true,
      ...(total === undefined ? {} : { total }),
      ...(progressEvery === undefined ? {} : { progressEvery }),
      progressPort: progress.port2,
    },
    [progress.port2],
  );
  let first = 0;
  let here: ReplayProgress = { events: 0, position: START };
  let there: { events: number; position: Position } = { events: 0, position: START };
  const drain = () => {
    // This thread's fold gives the event loop no turn: the worker's progress is taken as it comes.
    for (let m = receiveMessageOnPort(progress.port1); m !== undefined; m = receiveMessageOnPort(progress.port1)) there = m.message as typeof there;
  };
  const progressSoFar = (): ReplayProgress => {
    // Both segments at once, then the second segment, which both threads read.
    const events = first === 0 ? here.events + there.events : first + Math.max(here.events, there.events);
    return { events, ...(total === undefined ? {} : { total: Math.max(total, events) }), position: there.position > here.position ? there.position : here.position };
  };
  const onHere = (p: ReplayProgress) => {
    drain();
    here = p;
    onProgress?.(progressSoFar());
  };
  try {
    // Every stored snapshot's own hash, checked here (the worker meanwhile loads the code and decodes the checkpoint's states).
    const own = new Map<Position, CheckedSnapshot>();
    for (const head of [...Object.values(firstScan.pending), ...Object.values(plan.pending)].flat()) {
      signal?.throwIfAborted();
      own.set(head.event, await checkSnapshot(log, head, texts.get(head.event)));
      texts.delete(head.event);
    }
    texts.clear();
    const firstShare = await replayShareHere(log, {
      ...shared,
      projections: all,
      until: plan.at,
      snapshotScan: firstScan,
      sessionRange: { from: 0, to: plan.session },
      verifySessions: true,
      finalHashes: false,
      ...(progressEvery === undefined ? {} : { progressEvery }),
      onProgress: onHere,
    });
    first = firstShare.share.report.events;
    here = { events: 0, position: here.position };
    progress.port1.on('message', (m: typeof there) => {
      there = m;
      onProgress?.(progressSoFar());
    });
    const failedFirst = new Set(firstShare.entries.filter((e) => e.failed).map((e) => e.projection.name));
    /** The second segment replayed here, for `names`, from this thread's states at the checkpoint. */
    const continueHere = async (names: ReadonlySet<string>, withSessions: boolean): Promise<ShareResult> => {
      const projections = all.filter((p) => names.has(p.name));
      const states = new Map(firstShare.entries.filter((e) => names.has(e.projection.name)).map((e) => [e.projection.name, e.state]));
      const { share } = await replayShareHere(log, {
        ...shared,
        projections,
        start: { position: plan.at, states },
        snapshotScan: secondScan(plan, names),
        verifySessions: withSessions,
        sessionRange: { from: plan.session + 1, to: Infinity },
        ...(progressEvery === undefined ? {} : { progressEvery }),
        onProgress: onHere,
        finalHashes: true,
        failed: failedFirst,
      });
      return share;
    };
    const light = await continueHere(hereNames, false);
    let second: WorkerResult;
    try {
      second = await fromWorker;
    } catch {
      signal?.throwIfAborted();
      second = await continueHere(workerNames, true);
    }
    progress.port1.close();

    const conclude = (deferred: readonly DeferredComparison[], ok?: (d: DeferredComparison) => void) => concludeDeferred(log, deferred, own, undefined, ok);
    // The worker's start is confirmed for a projection whose checkpoint snapshot holds its own hash and the state rebuilt here.
    const startsOk = new Set<string>();
    const firstDeferred = await conclude(firstShare.share.deferred, ({ snapshot, projection }) => {
      if (snapshot.event === plan.starts[projection]?.event) startsOk.add(projection);
    });
    // Replayed again here: every worker projection not started from a state confirmed here.
    const unstarted = second.unstarted;
    const redo = new Set(unstarted === undefined ? [] : [...workerNames].filter((name) => !failedFirst.has(name) && (!startsOk.has(name) || name in unstarted)));
    const again = redo.size === 0 ? undefined : await continueHere(redo, false);
    const replaced = (name: string) => failedFirst.has(name) || redo.has(name);

    // Sessions with events on both sides of the split: checked again over the whole log.
    const crossing = new Set([...firstShare.share.crossing, ...second.crossing]);
    const recheck = crossing.size === 0 ? undefined : (await replayShareHere(log, { ...shared, projections: [], onlySessions: [...crossing], verifySessions: true })).share;
    const isSessionOf = (p: ReplayProblem) => (p.kind === 'header' || p.kind === 'signature') && crossing.has(p.session);
    const fromWorkerKept = (p: ReplayProblem) => !((p.kind === 'snapshot' || p.kind === 'projection') && replaced(p.projection));
    const parts = [
      firstShare.share.report.problems.filter((p) => !isSessionOf(p)),
      firstDeferred,
      second.report.problems.filter((p) => fromWorkerKept(p) && !isSessionOf(p)),
      await conclude(second.deferred.filter((d) => !replaced(d.projection))),
      again?.report.problems ?? [],
      await conclude(again?.deferred ?? []),
      light.report.problems,
      await conclude(light.deferred),
      recheck?.report.problems ?? [],
    ];
    // Every finding in segment order, signature findings last.
    const problems = [...parts.flatMap((part) => part.filter((p) => p.kind !== 'signature')), ...parts.flatMap((part) => part.filter((p) => p.kind === 'signature'))];

    let checked = firstShare.share.report.snapshotsChecked + light.report.snapshotsChecked + (again?.report.snapshotsChecked ?? 0);
    let unchecked = firstShare.share.report.snapshotsUnchecked + light.report.snapshotsUnchecked + (again?.report.snapshotsUnchecked ?? 0);
    for (const [name, count] of Object.entries(second.counts)) {
      if (redo.has(name)) continue;
      // After a failure in the first segment, nothing of that projection was comparable.
      if (failedFirst.has(name)) unchecked += count.checked + count.unchecked;
      else {
        checked += count.checked;
        unchecked += count.unchecked;
      }
    }
    const sessions = new Set([...firstShare.share.verified, ...second.verified].filter((s) => !crossing.has(s)));
    for (const s of recheck?.verified ?? []) sessions.add(s);
    const events = first + light.report.events;
    const byName = new Map([...second.report.projections, ...(again?.report.projections ?? []), ...light.report.projections].map((p) => [p.name, p]));
    for (const entry of firstShare.entries) if (entry.failed) byName.set(entry.projection.name, { name: entry.projection.name, version: entry.projection.version, position: entry.position.toString(), stateHash: '' });
    const count = (kind: ReplayProblem['kind']) => problems.filter((p) => p.kind === kind).length;
    onProgress?.({ events, ...(total === undefined ? {} : { total: Math.max(total, events) }), position: light.report.projections.reduce((max, p) => (BigInt(p.position) > max ? BigInt(p.position) : max), START) });
    return {
      events,
      sessions: sessions.size,
      headerMismatches: count('header'),
      signatureFailures: count('signature'),
      snapshotMismatches: count('snapshot'),
      snapshotsChecked: checked,
      snapshotsUnchecked: unchecked,
      problems,
      ok: problems.every((p) => p.kind === 'checkpoint'),
      from: START,
      projections: all.map((p) => byName.get(p.name)!),
      durationMs: performance.now() - started,
    };
  } finally {
    progress.port1.close();
  }
}
