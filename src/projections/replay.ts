import { bytesToHex, hexToBytes, signedDigest } from '../domain/hashing.ts';
import { federationTag, threshold } from '../domain/federation.ts';
import { createBatchVerifier, type BatchVerifier } from '../domain/signatures/batchVerifier.ts';
import type { SignatureCheck } from '../domain/signatureBackend.ts';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { START, type EventLog, type Position, type RecordedEvent } from '../streams/eventLog.ts';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { isEvent, streams, type FederationConfigured, type SnapshotTaken } from '../streams/events.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { createMerkleAccumulator, type MerkleAccumulator } from './merkleAccumulator.ts';
import { nativeAcceptedItemHash } from './nativeSha256.ts';
import { decodeSnapshot } from './checkpointStore.ts';
import { foldPage, PageFoldError, projectionStateHash, stateHash, type AnyProjection, type JsonValue } from './projection.ts';
import { standardProjections } from './standardProjections.ts';

/**
 * `fedlog replay`: rebuild every projection from the log (from position 0, or from the checkpoints
 * of one session), and on the way re-verify what the log claims about itself:
 *   - every session header: header(i) recomputed from the ItemAccepted items of session-<i>;
 *   - every SessionCompleted signature set: at least threshold valid signatures from distinct
 *     federation peers (keys from FederationConfigured) over the stored header;
 *   - every stored snapshot: its state hash against the rebuilt state at its position.
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
   * Where `log` is stored, so that a worker thread can open it too: the four lighter projections and
   * the session checks then run there, in parallel with the ledger fold (for `ledger` and `audit`)
   * on this thread. Only with the standard projections; not for an in-memory log.
   */
  parallel?: { location: EventLogLocation; guardian: number };
  /** Internal (a worker's share): skip the header and signature checks. */
  verifySessions?: boolean;
  /** Internal: projections another share replays; their snapshots are not this share's to count. */
  elsewhere?: readonly string[];
  /** Internal: the scan of this share's checkpoint streams, made by the caller (scanSnapshots with this share's projections and start). */
  snapshotScan?: SnapshotScan;
  /** Internal: positions of SnapshotTaken events of `elsewhere` projections that another share read and checks: passed over here. */
  scannedElsewhere?: readonly Position[];
}

/** The stored snapshots of some projections, reduced to what replay compares (plain data: it crosses to a worker). */
export interface SnapshotScan {
  /** Comparable snapshots by projection name, ascending by the position they reflect. */
  pending: Record<string, StoredSnapshot[]>;
  /** Positions of every SnapshotTaken event read. */
  scanned: Position[];
  /** Snapshots of other versions or of projections not scanned for: not comparable. */
  unchecked: number;
}

/**
 * The projections a parallel replay folds on the worker thread: the ledger fold (shared by both),
 * the larger share, because the worker's young generation can be sized for it (see
 * WORKER_YOUNG_GENERATION_MB; the calling thread's is fixed by the process's flags). The calling
 * thread takes the rest and the session checks while the worker loads the code (~0.3 s).
 */
const WORKER_SHARE = ['ledger', 'audit'];

export type ReplayProblem =
  | { kind: 'header'; session: number; detail: string; stored?: string; computed?: string }
  | { kind: 'signature'; session: number; detail: string }
  | { kind: 'snapshot'; projection: string; session: number; position: string; detail: string; stored?: string; computed?: string }
  | { kind: 'projection'; projection: string; position: string; detail: string }
  | { kind: 'checkpoint'; projection: string; detail: string };

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

const WORKERS_FROM = 512;
/**
 * The worker's young generation (three semi-spaces' worth in V8's terms): 64 MB semi-spaces instead
 * of the default 16 MB. A fold's page of events and the states it builds outlive many scavenges of
 * the default size; measured with --max-semi-space-size=64 on one thread, a replay share cost
 * 15-25% less CPU. The calling thread's size is fixed by the process's flags.
 */
const WORKER_YOUNG_GENERATION_MB = 192;
/** Events folded per evolveAll call. */
const BATCH = 1024;

interface Entry {
  projection: AnyProjection;
  state: unknown;
  position: Position;
  failed: boolean;
  /** Where this projection's replay started: snapshots of earlier states cannot be compared. */
  start: Position;
  /** Position of the last event that changed the state (the state is the same at every position from there on). */
  changedAt: Position;
  /** Stored snapshots of this projection still to compare, ascending by the position they reflect. */
  pending: StoredSnapshot[];
  next: number;
}

/** A SnapshotTaken found before the fold, reduced to what the comparison needs (states run to megabytes). */
export interface StoredSnapshot {
  /** Position of the SnapshotTaken event itself. */
  event: Position;
  /** The position whose state it claims to hold. */
  at: Position;
  session: number;
  position: string;
  stateHash: string;
  /** The stored state's own hash, when it differs from `stateHash`. */
  ownHash?: string;
}

interface OpenSession {
  leaves: MerkleAccumulator;
  /** False when replay started after the session's first item (from a checkpoint): its header cannot be recomputed. */
  complete: boolean;
}

interface PendingSignatures {
  session: number;
  checks: number;
  peers: number[];
}

export async function replay(log: EventLog, options: ReplayOptions = {}): Promise<ReplayReport> {
  if (options.parallel !== undefined && options.projections === undefined && options.parallel.location.kind !== 'memory') return parallelReplay(log, options, options.parallel);
  return replayHere(log, options);
}

async function replayHere(log: EventLog, options: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const projections = options.projections ?? standardProjections();
  const verifySessions = options.verifySessions ?? true;
  const elsewhere = new Set(options.elsewhere ?? []);
  const problems: ReplayProblem[] = [];
  const progressEvery = options.progressEvery ?? 10_000;

  const federation = (await log.readStream(streams.federation)).find((e) => isEvent(e, 'FederationConfigured'))?.data as FederationConfigured | undefined;
  const keys = federation === undefined ? undefined : new Map(Object.entries(federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  const tag = keys === undefined ? undefined : federationTag(keys);
  const needed = keys === undefined ? 0 : threshold(keys.size);

  const entries: Entry[] = [];
  for (const projection of projections) {
    const entry: Entry = { projection, state: projection.initial, position: START, failed: false, start: START, changedAt: START, pending: [], next: 0 };
    entries.push(entry);
    if (options.fromCheckpoint !== undefined) {
      const chosen = await findSnapshot(log, projection.name, (s) => s.session === options.fromCheckpoint && s.version === projection.version);
      const loaded = chosen === undefined ? undefined : decodeSnapshot(projection, chosen);
      if (loaded === undefined || 'reason' in loaded) {
        problems.push({ kind: 'checkpoint', projection: projection.name, detail: `no usable checkpoint at session ${options.fromCheckpoint}${loaded === undefined ? '' : `: ${loaded.reason}`}; rebuilt from position 0` });
      } else {
        entry.state = loaded.state;
        entry.position = loaded.position;
        entry.start = loaded.position;
        entry.changedAt = loaded.position;
      }
    }
  }
  const byName = new Map(entries.map((e) => [e.projection.name, e]));
  const from = entries.reduce((min, e) => (e.position < min ? e.position : min), entries[0]?.position ?? START);
  const total = options.total ?? (await estimateEventCount(log, projections));

  let snapshotsChecked = 0;
  let snapshotsUnchecked = 0;

  /**
   * Stored snapshots are found first, from the projections' checkpoint streams (newest first, one
   * at a time: each holds a whole state), and reduced to positions and hashes. The fold then hashes
   * its state exactly when it reaches a snapshot's position, so it never keeps past states around
   * (a window of them made every old state survive garbage collection: half of replay's time).
   * In a parallel replay the calling thread scans the worker's streams and hands it the result.
   */
  const scan = options.snapshotScan ?? (await scanSnapshots(log, projections, from));
  const scanned = new Set<Position>(scan.scanned);
  snapshotsUnchecked += scan.unchecked;
  // Each list comes sorted by position from scanSnapshots.
  for (const entry of entries) entry.pending.push(...(scan.pending[entry.projection.name] ?? []));
  const comparable = (entry: Entry | undefined, snapshot: SnapshotTaken): entry is Entry => entry !== undefined && snapshot.version === entry.projection.version;

  /** Compares `entry`'s current state, which is its state at `snapshot.at`, with a stored snapshot. */
  const compare = (entry: Entry, snapshot: StoredSnapshot) => {
    if (entry.failed || snapshot.at < entry.start) {
      // Before where this projection's replay started, or after it broke: not comparable.
      snapshotsUnchecked++;
      return;
    }
    snapshotsChecked++;
    const where = { kind: 'snapshot' as const, projection: entry.projection.name, session: snapshot.session, position: snapshot.position };
    if (snapshot.ownHash !== undefined) {
      problems.push({ ...where, detail: 'stored state does not match its own state hash', stored: snapshot.stateHash, computed: snapshot.ownHash });
      return;
    }
    const computed = projectionStateHash(entry.projection, entry.state);
    if (computed !== snapshot.stateHash) problems.push({ ...where, detail: 'stored state hash differs from the rebuilt state', stored: snapshot.stateHash, computed });
  };

  /** Every pending snapshot of `entry` that reflects a position before `position`: the state there is the current one. */
  const compareBefore = (entry: Entry, position: Position | undefined) => {
    while (entry.next < entry.pending.length) {
      const snapshot = entry.pending[entry.next]!;
      if (position !== undefined && snapshot.at >= position) return;
      entry.next++;
      compare(entry, snapshot);
    }
  };

  /** A SnapshotTaken outside the checkpoint streams scanned above (unusual): comparable only if the state has not changed since. */
  const checkUnscanned = (event: Position, data: SnapshotTaken) => {
    if (scanned.has(event) || elsewhere.has(data.projection)) return;
    const entry = byName.get(data.projection);
    const at = BigInt(data.position);
    if (!comparable(entry, data) || entry.changedAt > at) {
      snapshotsUnchecked++;
      return;
    }
    const own = stateHash(data.state as JsonValue);
    compare(entry, { event, at, session: data.session, position: data.position, stateHash: data.stateHash, ...(own === data.stateHash ? {} : { ownHash: own }) });
  };

  const sessions = new Map<number, OpenSession>();
  const signatureChecks: SignatureCheck[] = [];
  const pendingSignatures: PendingSignatures[] = [];
  let verifiedSessions = 0;

  const onItem = (session: number, index: number, item: Uint8Array, peer: number) => {
    let open = sessions.get(session);
    if (open === undefined) {
      open = { leaves: createMerkleAccumulator(), complete: index === 0 || from === START };
      sessions.set(session, open);
    }
    if (!open.complete) return;
    if (index !== open.leaves.count) {
      problems.push({ kind: 'header', session, detail: `item index ${index} where ${open.leaves.count} was expected` });
      open.complete = false;
      return;
    }
    open.leaves.add(nativeAcceptedItemHash(item, peer));
  };

  const onCompleted = (data: { session: number; header: string; itemCount: number; signatures: Record<string, string> }) => {
    const open = sessions.get(data.session) ?? { leaves: createMerkleAccumulator(), complete: from === START };
    sessions.delete(data.session);
    if (!open.complete) return;
    verifiedSessions++;
    const accepted = open.leaves.count;
    const computed = bytesToHex(open.leaves.header(data.session));
    if (computed !== data.header) problems.push({ kind: 'header', session: data.session, detail: 'stored header differs from the header of the accepted items', stored: data.header, computed });
    else if (data.itemCount !== accepted) problems.push({ kind: 'header', session: data.session, detail: `itemCount ${data.itemCount}, but ${accepted} items were accepted` });
    if (keys === undefined || tag === undefined) {
      problems.push({ kind: 'signature', session: data.session, detail: 'no FederationConfigured event: signatures cannot be verified' });
      return;
    }
    const digest = signedDigest(tag, hexToBytes(data.header));
    const pending: PendingSignatures = { session: data.session, checks: signatureChecks.length, peers: [] };
    for (const [peer, signature] of Object.entries(data.signatures)) {
      const publicKey = keys.get(Number(peer));
      // A signature from outside the federation cannot count toward the threshold.
      if (publicKey === undefined) continue;
      pending.peers.push(Number(peer));
      signatureChecks.push({ signature: hexToBytes(signature), message: digest, publicKey });
    }
    pendingSignatures.push(pending);
  };

  let events = 0;
  let last = from;
  // Events are folded a page at a time (evolveAll: one evolveBatch call per projection), cut
  // wherever a stored snapshot must be compared, so each comparison still sees the state at its
  // position. A fresh array per page: projections may remember the array they were given.
  let batch: RecordedEvent[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    applyBatch(entries, batch, problems);
    batch = [];
  };
  let nextSnapshotAt = nextPendingAt(entries);
  /** What every event starts with: counted, and the stored snapshots of positions before it compared. */
  const reach = (position: Position) => {
    events++;
    last = position;
    if (nextSnapshotAt !== undefined && position > nextSnapshotAt) {
      flush();
      for (const entry of entries) if (entry.next < entry.pending.length) compareBefore(entry, position);
      nextSnapshotAt = nextPendingAt(entries);
    }
  };
  const reportProgress = () => {
    if (events % progressEvery === 0) {
      options.onProgress?.({ events, ...(total === undefined ? {} : { total }), position: last });
      options.signal?.throwIfAborted();
    }
  };
  const onEvent = (event: RecordedEvent) => {
    reach(event.position);
    if (isEvent(event, 'SnapshotTaken')) {
      // Rare (one per projection per checkpoint), and an unscanned one is compared with the state right here.
      flush();
      apply(entries, event, problems);
      checkUnscanned(event.position, event.data);
    } else {
      batch.push(event);
      if (batch.length >= BATCH) flush();
    }
    if (!verifySessions) {
      // A worker's share: the main share checks the sessions.
    } else if (isEvent(event, 'ItemAccepted')) onItem(event.data.session, event.data.index, acceptedItemBytes(event), event.data.peer);
    else if (isEvent(event, 'SessionCompleted')) onCompleted(event.data);
    reportProgress();
  };
  /**
   * A SnapshotTaken scanned above, passed over without reading it again (snapshot states are most
   * of a log's bytes, and this share has already read and checked these): what `onEvent` does
   * with it, since no standard projection changes on a SnapshotTaken and its comparison is pending.
   */
  const passOver = (position: Position) => {
    reach(position);
    flush();
    for (const entry of entries) if (!entry.failed && entry.position < position) entry.position = position;
    reportProgress();
  };
  // Scanned snapshots are passed over only for the standard projections (another may fold SnapshotTaken).
  const standard = new Set(standardProjections());
  const passable = projections.every((p) => standard.has(p)) ? [...scanned, ...(options.scannedElsewhere ?? [])].filter((p) => p > from).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  // A page per await where the log offers it (no promise per event).
  const readPages = (after: Position, size: number) => log.readAllPages?.(after, size) ?? pagesOf(log.readAll(after), size);
  let after = from;
  let skip = 0;
  for (;;) {
    while (skip < passable.length && passable[skip]! <= after) skip++;
    const next = passable[skip];
    if (next === undefined) break;
    const gap = next - after - 1n;
    if (gap === 0n) {
      passOver(next);
      after = next;
      continue;
    }
    // Whole pages up to the next scanned snapshot, then one of the events right before it: SQLite
    // and memory positions are dense, so that page ends next to it and the snapshot is passed
    // over. Where positions have gaps (EventStoreDB) a page may run past it: it is then read as
    // any other event.
    const size = gap >= BigInt(BATCH) ? BATCH : Number(gap);
    let full = false;
    for await (const page of readPages(after, size)) {
      for (const event of page) onEvent(event);
      if (page.length > 0) after = page[page.length - 1]!.position;
      full = page.length === size;
      if (!full || next - after - 1n < BigInt(BATCH)) break;
    }
    // The log ends, or a row cannot be read, before the snapshot: the read below tells which (a read error repeats).
    if (!full) break;
  }
  for await (const page of readPages(after, BATCH)) for (const event of page) onEvent(event);
  flush();
  options.onProgress?.({ events, ...(total === undefined ? {} : { total: Math.max(total, events) }), position: last });
  // Snapshots of the final states (or of positions past the end of the log).
  for (const entry of entries) compareBefore(entry, undefined);

  if (signatureChecks.length > 0) {
    const verifier = options.batchVerifier ?? createBatchVerifier();
    try {
      // Worker threads pay off only for many signatures (a long multi-guardian history); a few are checked inline.
      const mode = signatureChecks.length < WORKERS_FROM ? 'inline' : 'auto';
      const valid = await verifier.verifyBatch(signatureChecks, options.signal === undefined ? { mode } : { mode, signal: options.signal });
      for (const { session, checks, peers } of pendingSignatures) {
        const good = peers.filter((_, i) => valid[checks + i]).length;
        if (good < needed) problems.push({ kind: 'signature', session, detail: `${good} valid federation signatures, threshold is ${needed}` });
      }
    } finally {
      if (options.batchVerifier === undefined) await verifier.close();
    }
  } else {
    for (const { session } of pendingSignatures) problems.push({ kind: 'signature', session, detail: `no federation signatures, threshold is ${needed}` });
  }

  const count = (kind: ReplayProblem['kind']) => problems.filter((p) => p.kind === kind).length;
  const report: ReplayReport = {
    events,
    sessions: verifiedSessions,
    headerMismatches: count('header'),
    signatureFailures: count('signature'),
    snapshotMismatches: count('snapshot'),
    snapshotsChecked,
    snapshotsUnchecked,
    problems,
    ok: problems.every((p) => p.kind === 'checkpoint'),
    from,
    projections: entries.map((e) => ({
      name: e.projection.name,
      version: e.projection.version,
      position: e.position.toString(),
      stateHash: e.failed ? '' : projectionStateHash(e.projection, e.state),
    })),
    durationMs: performance.now() - started,
  };
  return report;
}

/** What a worker thread is given: everything is plain data (structured clone). */
export interface ReplayShareRequest {
  location: EventLogLocation;
  guardian: number;
  projections: string[];
  elsewhere: string[];
  verifySessions: boolean;
  fromCheckpoint?: number;
  total?: number;
  /** Where the calling thread sends the scan of this share's checkpoint streams (one SnapshotScan), instead of the worker scanning them. */
  snapshotPort?: MessagePort;
}

/** A worker's share of a parallel replay: its projections, and the session checks if asked. */
export async function replayShare(request: ReplayShareRequest): Promise<ReplayReport> {
  const log = await openEventLog(request.location, { guardian: request.guardian });
  try {
    const port = request.snapshotPort;
    const snapshotScan = port === undefined ? undefined : await new Promise<SnapshotScan>((resolve) => port.once('message', resolve));
    port?.close();
    return await replayHere(log, {
      ...(snapshotScan === undefined ? {} : { snapshotScan }),
      projections: standardProjections().filter((p) => request.projections.includes(p.name)),
      verifySessions: request.verifySessions,
      elsewhere: request.elsewhere,
      ...(request.fromCheckpoint === undefined ? {} : { fromCheckpoint: request.fromCheckpoint }),
      ...(request.total === undefined ? {} : { total: request.total }),
    });
  } finally {
    await log.close();
  }
}

/**
 * Replay on two threads: a worker folds the ledger (for `ledger` and `audit`) while this thread
 * reads the log once more for the other projections and the session headers and signatures, and
 * reports the progress. Both read the same log, which is append-only: a worker may see more
 * events than this thread, so its projections can end further on; their positions are in the
 * report. A worker that cannot run is replaced by doing its share here afterwards.
 */
async function parallelReplay(log: EventLog, options: ReplayOptions, parallel: { location: EventLogLocation; guardian: number }): Promise<ReplayReport> {
  const started = performance.now();
  const all = standardProjections();
  const hereProjections = all.filter((p) => !WORKER_SHARE.includes(p.name));
  const workerProjections = all.filter((p) => WORKER_SHARE.includes(p.name));
  const request: ReplayShareRequest = {
    location: parallel.location,
    guardian: parallel.guardian,
    projections: workerProjections.map((p) => p.name),
    elsewhere: hereProjections.map((p) => p.name),
    verifySessions: false,
    ...(options.fromCheckpoint === undefined ? {} : { fromCheckpoint: options.fromCheckpoint }),
    ...(options.total === undefined ? {} : { total: options.total }),
  };
  // From position 0, this thread reads the worker's stored snapshots (states: most of a log's
  // bytes) while the worker starts, and sends it positions and hashes: neither thread reads them again.
  const channel = options.fromCheckpoint === undefined ? new MessageChannel() : undefined;
  if (channel !== undefined) request.snapshotPort = channel.port2;
  const worker = new Worker(new URL('./replayWorker.mjs', import.meta.url), {
    workerData: request,
    ...(channel === undefined ? {} : { transferList: [channel.port2] }),
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  const onAbort = () => void worker.terminate();
  options.signal?.addEventListener('abort', onAbort);
  const fromWorker = new Promise<ReplayReport>((resolve, reject) => {
    worker.once('message', (message: { ok: true; report: ReplayReport } | { ok: false; message: string }) => {
      if (message.ok) resolve(message.report);
      else reject(new Error(message.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the replay worker stopped (exit code ${code})`)));
  });
  // Observed at once, so a worker failure while this thread is busy is not an unhandled rejection.
  fromWorker.catch(() => undefined);
  try {
    const { batchVerifier, onProgress, progressEvery, signal, fromCheckpoint, total } = options;
    const shared = { ...(signal === undefined ? {} : { signal }), ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }), ...(total === undefined ? {} : { total }) };
    const workerScan = channel === undefined ? undefined : await scanSnapshots(log, workerProjections, START);
    if (workerScan !== undefined) channel!.port1.postMessage(workerScan);
    const here = await replayHere(log, {
      ...shared,
      ...(workerScan === undefined ? {} : { scannedElsewhere: workerScan.scanned }),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(progressEvery === undefined ? {} : { progressEvery }),
      ...(batchVerifier === undefined ? {} : { batchVerifier }),
      projections: hereProjections,
      verifySessions: true,
      elsewhere: request.projections,
    });
    let there: ReplayReport;
    try {
      there = await fromWorker;
    } catch {
      signal?.throwIfAborted();
      there = await replayHere(log, { ...shared, ...(workerScan === undefined ? {} : { snapshotScan: workerScan }), projections: workerProjections, verifySessions: false, elsewhere: request.elsewhere });
    }
    // Session findings first, then the worker's (ledger and audit), then this thread's other projections'.
    const isSession = (p: ReplayProblem) => p.kind === 'header' || p.kind === 'signature';
    const problems = [...here.problems.filter(isSession), ...there.problems, ...here.problems.filter((p) => !isSession(p))];
    const count = (kind: ReplayProblem['kind']) => problems.filter((p) => p.kind === kind).length;
    const byName = new Map([...here.projections, ...there.projections].map((p) => [p.name, p]));
    return {
      events: here.events,
      sessions: here.sessions,
      headerMismatches: count('header'),
      signatureFailures: count('signature'),
      snapshotMismatches: count('snapshot'),
      snapshotsChecked: here.snapshotsChecked + there.snapshotsChecked,
      snapshotsUnchecked: here.snapshotsUnchecked + there.snapshotsUnchecked,
      problems,
      ok: problems.every((p) => p.kind === 'checkpoint'),
      from: here.from < there.from ? here.from : there.from,
      projections: all.map((p) => byName.get(p.name)!),
      durationMs: performance.now() - started,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    channel?.port1.close();
    await worker.terminate();
  }
}

function apply(entries: Entry[], event: RecordedEvent, problems: ReplayProblem[]): void {
  for (const entry of entries) {
    if (entry.failed || entry.position >= event.position) continue;
    try {
      const next = entry.projection.evolve(entry.state, event);
      if (next !== entry.state) entry.changedAt = event.position;
      entry.state = next;
      entry.position = event.position;
    } catch (error) {
      // One broken projection must not hide what the others and the signature checks find.
      entry.failed = true;
      problems.push({ kind: 'projection', projection: entry.projection.name, position: event.position.toString(), detail: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** Folds a page of events (ascending) into every projection that has not seen them; a failure is reported at its event, as `apply` reports it. */
function applyBatch(entries: Entry[], batch: readonly RecordedEvent[], problems: ReplayProblem[]): void {
  for (const entry of entries) {
    if (entry.failed) continue;
    try {
      const folded = foldPage(entry.projection, entry.state, entry.position, batch);
      if (folded === undefined) continue;
      // Somewhere in the page; only an unscanned snapshot inside it would need more precision, and it is then counted as unchecked.
      if (folded.state !== entry.state) entry.changedAt = folded.position;
      entry.state = folded.state;
      entry.position = folded.position;
    } catch (error) {
      if (!(error instanceof PageFoldError)) throw error;
      // One broken projection must not hide what the others and the signature checks find.
      entry.state = error.state;
      entry.position = error.reached;
      entry.failed = true;
      problems.push({ kind: 'projection', projection: entry.projection.name, position: error.position.toString(), detail: error.message });
    }
  }
}

/** The position of the earliest stored snapshot still to compare, if any. */
function nextPendingAt(entries: readonly Entry[]): Position | undefined {
  let at: Position | undefined;
  for (const entry of entries) {
    const snapshot = entry.pending[entry.next];
    if (snapshot !== undefined && (at === undefined || snapshot.at < at)) at = snapshot.at;
  }
  return at;
}

/**
 * The position of the newest event, from the streams DESIGN.md says a log holds: `federation`, one
 * `checkpoint-<projection>` each, and `session-<i>` / `dag-<i>` for sessions 0..last (found by an
 * exponential then binary search, since sessions are numbered without gaps). A handful of reads.
 */
export async function estimateEventCount(log: EventLog, projections: readonly AnyProjection[]): Promise<number | undefined> {
  const newest = async (stream: string) => (await log.readStream(stream, { direction: 'backwards', maxCount: 1 }))[0]?.position ?? START;
  const hasSession = async (i: number) => (await newest(streams.session(i))) > START;
  let head = await newest(streams.federation);
  for (const p of projections) {
    const at = await newest(streams.checkpoint(p.name));
    if (at > head) head = at;
  }
  if (await hasSession(0)) {
    let hi = 1;
    while (await hasSession(hi)) hi *= 2;
    let lo = hi / 2;
    // Invariant: session lo exists, session hi does not.
    if (hi === 1) lo = 0;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await hasSession(mid)) lo = mid;
      else hi = mid;
    }
    for (const stream of [streams.session(lo), streams.dag(lo), streams.dag(lo + 1)]) {
      const at = await newest(stream);
      if (at > head) head = at;
    }
  }
  return head === START ? undefined : Number(head);
}

/** The newest SnapshotTaken of `projection` that `matches`, read newest first one at a time (snapshots are large). */
async function findSnapshot(log: EventLog, projection: string, matches: (snapshot: SnapshotTaken) => boolean): Promise<SnapshotTaken | undefined> {
  const stream = streams.checkpoint(projection);
  let revision: number | undefined;
  for (;;) {
    const [event] = await log.readStream(stream, { direction: 'backwards', maxCount: 1, ...(revision === undefined ? {} : { fromRevision: revision }) });
    if (event === undefined) return undefined;
    if (isEvent(event, 'SnapshotTaken') && matches(event.data)) return event.data;
    if (event.revision === 0) return undefined;
    revision = event.revision - 1;
  }
}

/** The stored snapshots in the checkpoint streams of `projections` appended after `after`, each state read and hashed once (its own hash). */
async function scanSnapshots(log: EventLog, projections: readonly AnyProjection[], after: Position): Promise<SnapshotScan> {
  const byName = new Map(projections.map((p) => [p.name, p]));
  const scan: SnapshotScan = { pending: {}, scanned: [], unchecked: 0 };
  for (const projection of projections) {
    await forEachSnapshot(log, projection.name, after, (event, snapshot) => {
      scan.scanned.push(event);
      const owner = byName.get(snapshot.projection);
      // Another projection or another version of this one: nothing this code can compare against.
      if (owner === undefined || snapshot.version !== owner.version) {
        scan.unchecked++;
        return;
      }
      const own = stateHash(snapshot.state as JsonValue);
      (scan.pending[owner.name] ??= []).push({ event, at: BigInt(snapshot.position), session: snapshot.session, position: snapshot.position, stateHash: snapshot.stateHash, ...(own === snapshot.stateHash ? {} : { ownHash: own }) });
    });
  }
  for (const list of Object.values(scan.pending)) list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
  return scan;
}

/** Every SnapshotTaken in `projection`'s checkpoint stream appended after `after`, newest first, one event in memory at a time. */
async function forEachSnapshot(log: EventLog, projection: string, after: Position, visit: (event: Position, snapshot: SnapshotTaken) => void): Promise<void> {
  const stream = streams.checkpoint(projection);
  let revision: number | undefined;
  for (;;) {
    const [event] = await log.readStream(stream, { direction: 'backwards', maxCount: 1, ...(revision === undefined ? {} : { fromRevision: revision }) });
    if (event === undefined || event.position <= after) return;
    if (isEvent(event, 'SnapshotTaken')) visit(event.position, event.data);
    if (event.revision === 0) return;
    revision = event.revision - 1;
  }
}
