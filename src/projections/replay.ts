import { bytesToHex, hexToBytes, signedDigest } from '../domain/hashing.ts';
import { federationTag, threshold } from '../domain/federation.ts';
import { createBatchVerifier, type BatchVerifier } from '../domain/signatures/batchVerifier.ts';
import type { SignatureCheck } from '../domain/signatureBackend.ts';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { START, type EventLog, type Position, type RecordedEvent, type RecordedEventText } from '../streams/eventLog.ts';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { isEvent, streams, type FederationConfigured, type SnapshotTaken } from '../streams/events.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { createMerkleAccumulator, type MerkleAccumulator } from './merkleAccumulator.ts';
import { nativeAcceptedItemHash } from './nativeSha256.ts';
import { decodeSnapshot } from './checkpointStore.ts';
import { canonicalTextHash, foldPage, PageFoldError, projectionStateHash, stateHash, type AnyProjection, type JsonValue } from './projection.ts';
import { checkSnapshot, checkSnapshotPrecisely, snapshotHeads, snapshotState, snapshotTextParts, type CheckedSnapshot, type SnapshotHead } from './storedSnapshots.ts';
import { standardProjections } from './standardProjections.ts';
import { RelayWriter, relayedLog } from './replayRelay.ts';
import { inPlaceLedgerProjection } from './ledger.ts';
import { inPlaceAuditProjection } from './audit.ts';
import { inPlaceTransactionsProjection } from './transactions.ts';
import { replayPendingItemsProjection } from './pendingItems.ts';
import { newWorker } from '../domain/signatures/workerExecArgv.mjs';

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
 * The projections a parallel replay folds on the worker thread: the ledger fold (shared by
 * `ledger` and `audit`) and `transactions`, the larger share, because the worker's young
 * generation can be sized for it (see WORKER_YOUNG_GENERATION_MB; the calling thread's is fixed by
 * the process's flags). The calling thread reads the log (relaying it to the worker), takes the
 * rest and checks the sessions. Measured on the bench's log, `transactions` on the calling thread
 * grew that thread's share by ~0.5 s while the worker waited for pages.
 */
const WORKER_SHARE = ['ledger', 'audit', 'transactions'];

/**
 * A replay share reads only the newest state of each projection (its comparisons hash a state
 * when the fold reaches a snapshot's position), so replay of the standard projections folds
 * `ledger`, `audit` and `transactions` in place (inPlaceLedgerState, inPlaceTransactionsProjection)
 * and keeps pending items as bytes (replayPendingItemsProjection): the same states, hashes and
 * findings.
 */
function replayVariant(projection: AnyProjection): AnyProjection {
  const variant =
    projection.name === 'ledger'
      ? inPlaceLedgerProjection
      : projection.name === 'audit'
        ? inPlaceAuditProjection
        : projection.name === 'transactions'
          ? inPlaceTransactionsProjection()
          : projection.name === 'pendingItems'
            ? replayPendingItemsProjection
            : projection;
  replayVariants.add(variant);
  return variant;
}
/** Variants of the standard projections that fold exactly as they do. */
const replayVariants = new WeakSet<AnyProjection>();

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
  /** Left to another share (a segment without its starting state): neither folded nor counted. */
  excluded: boolean;
  /** The hash of a state computed last (states are immutable: the same object has the same hash). */
  hashed?: { state: unknown; hash: string };
}

/** A SnapshotTaken found before the fold, reduced to what the comparison needs (states run to megabytes). */
export interface StoredSnapshot extends CheckedSnapshot {
  /** Its own hash is checked by another share (a segmented replay): the comparison is handed back as a DeferredComparison. */
  ownElsewhere?: true;
}

/** A comparison of a rebuilt state with a stored snapshot whose own hash another share checks. */
export interface DeferredComparison {
  snapshot: StoredSnapshot;
  projection: string;
  /** The rebuilt state's hash. */
  computed: string;
}

/** A share's report and what a segmented replay needs to join it with the others' (plain data). */
export interface ShareResult {
  report: ReplayReport;
  /** Sessions whose header and signatures this share verified. */
  verified: number[];
  /** Sessions outside this share's `sessionRange` that it saw events of. */
  crossing: number[];
  deferred: DeferredComparison[];
  /** Snapshots checked and unchecked here, by projection (snapshots no projection here could compare are not in it). */
  counts: Record<string, { checked: number; unchecked: number }>;
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
  return (await replayShareHere(log, options)).share.report;
}

/** The hash of an entry's state, computed once per state. */
function entryHash(entry: Entry): string {
  if (entry.hashed === undefined || entry.hashed.state !== entry.state) entry.hashed = { state: entry.state, hash: projectionStateHash(entry.projection, entry.state) };
  return entry.hashed.hash;
}

async function replayShareHere(log: EventLog, options: ReplayOptions): Promise<{ share: ShareResult; entries: Entry[] }> {
  const started = performance.now();
  const projections = options.projections ?? standardProjections().map(replayVariant);
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
    const entry: Entry = { projection, state: projection.initial, position: START, failed: false, start: START, changedAt: START, pending: [], next: 0, excluded: false };
    entries.push(entry);
    if (options.start !== undefined) {
      const { position, states } = options.start;
      Object.assign(entry, { position, start: position, changedAt: position });
      if (options.failed?.has(projection.name) === true) entry.failed = true;
      else if (states.has(projection.name)) entry.state = states.get(projection.name);
      else Object.assign(entry, { failed: true, excluded: true });
    } else if (options.fromCheckpoint !== undefined) {
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
  const counts: Record<string, { checked: number; unchecked: number }> = {};
  const countFor = (name: string) => (counts[name] ??= { checked: 0, unchecked: 0 });
  const deferred: DeferredComparison[] = [];
  /** Mismatches with a snapshot checked on its text only: whether its own hash holds is decided after the fold (see CheckedSnapshot). */
  const recheck: Array<{ problem: ReplayProblem & { kind: 'snapshot' }; snapshot: StoredSnapshot }> = [];

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
    if (entry.excluded) return;
    if (entry.failed || snapshot.at < entry.start) {
      // Before where this projection's replay started, or after it broke: not comparable.
      snapshotsUnchecked++;
      countFor(entry.projection.name).unchecked++;
      return;
    }
    snapshotsChecked++;
    countFor(entry.projection.name).checked++;
    const where = { kind: 'snapshot' as const, projection: entry.projection.name, session: snapshot.session, position: snapshot.position };
    if (snapshot.ownMismatch !== undefined) {
      problems.push({ ...where, detail: snapshot.ownMismatch.detail, stored: snapshot.stateHash, computed: snapshot.ownMismatch.computed });
      return;
    }
    const computed = entryHash(entry);
    if (snapshot.ownElsewhere === true) {
      deferred.push({ snapshot, projection: entry.projection.name, computed });
      return;
    }
    if (computed !== snapshot.stateHash) {
      const problem = { ...where, detail: 'stored state hash differs from the rebuilt state', stored: snapshot.stateHash, computed };
      problems.push(problem);
      if (snapshot.textChecked === true) recheck.push({ problem, snapshot });
    }
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
      if (entry?.excluded === true) return;
      snapshotsUnchecked++;
      countFor(entry?.projection.name ?? '').unchecked++;
      return;
    }
    const own = stateHash(data.state as JsonValue);
    const head: SnapshotHead = { event, stream: streams.checkpoint(data.projection), revision: -1, projection: data.projection, version: data.version, position: data.position, at, session: data.session, stateHash: data.stateHash };
    compare(entry, own === data.stateHash ? head : { ...head, ownMismatch: { computed: own, detail: 'stored state does not match its own state hash' } });
  };

  const sessions = new Map<number, OpenSession>();
  const signatureChecks: SignatureCheck[] = [];
  const pendingSignatures: PendingSignatures[] = [];
  let verifiedSessions = 0;
  const verified: number[] = [];
  const crossing = new Set<number>();
  const range = options.sessionRange;
  const only = options.onlySessions === undefined ? undefined : new Set(options.onlySessions);
  /** A segment's sessions (and the sessions checked again) are whole from their first event read: none started before `from`. */
  const wholeFromFirst = from === START || range !== undefined || only !== undefined;
  const isMine = (session: number): boolean => {
    if (only !== undefined) return only.has(session);
    if (range === undefined || (session >= range.from && session <= range.to)) return true;
    crossing.add(session);
    return false;
  };

  const onItem = (session: number, index: number, item: Uint8Array, peer: number) => {
    if (!isMine(session)) return;
    let open = sessions.get(session);
    if (open === undefined) {
      open = { leaves: createMerkleAccumulator(), complete: index === 0 || wholeFromFirst };
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
    if (!isMine(data.session)) return;
    const open = sessions.get(data.session) ?? { leaves: createMerkleAccumulator(), complete: wholeFromFirst };
    sessions.delete(data.session);
    if (!open.complete) return;
    verifiedSessions++;
    verified.push(data.session);
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
  const relay = options.relay;
  const flush = () => {
    if (batch.length === 0) return;
    // The worker gets the page before this thread folds it.
    relay?.flush();
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
    const item = isEvent(event, 'ItemAccepted') && (verifySessions || relay !== undefined) ? acceptedItemBytes(event) : undefined;
    relay?.add(event, item);
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
    } else if (item !== undefined && isEvent(event, 'ItemAccepted')) onItem(event.data.session, event.data.index, item, event.data.peer);
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
  const until = options.until;
  const passable = projections.every((p) => standard.has(p) || replayVariants.has(p))
    ? [...new Set([...scanned, ...(options.scannedElsewhere ?? [])])].filter((p) => p > from && (until === undefined || p <= until)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    : [];
  // A segment's end is a boundary too, past which nothing is read.
  const stop = until === undefined ? undefined : until + 1n;
  // A page per await where the log offers it (no promise per event).
  const readPages = (after: Position, size: number) => log.readAllPages?.(after, size) ?? pagesOf(log.readAll(after), size);
  /** Folds a page's events up to the segment's end; false once past it (positions with gaps: a page may run past it). */
  const foldPageEvents = (page: readonly RecordedEvent[]): boolean => {
    for (const event of page) {
      if (until !== undefined && event.position > until) return false;
      onEvent(event);
    }
    relay?.flush();
    return true;
  };
  let after = from;
  let skip = 0;
  let ended = false;
  for (;;) {
    while (skip < passable.length && passable[skip]! <= after) skip++;
    const next = passable[skip] ?? stop;
    if (next === undefined) break;
    const gap = next - after - 1n;
    if (gap <= 0n) {
      if (next === stop && skip >= passable.length) break;
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
      if (!foldPageEvents(page)) {
        ended = true;
        break;
      }
      await relay?.ready();
      if (page.length > 0) after = page[page.length - 1]!.position;
      full = page.length === size;
      if (!full || next - after - 1n < BigInt(BATCH)) break;
    }
    // The log ends, or a row cannot be read, before the snapshot: the read below tells which (a read error repeats).
    if (!full || ended) break;
  }
  if (!ended && (stop === undefined || after < until!)) {
    for await (const page of readPages(after, BATCH)) {
      if (!foldPageEvents(page)) break;
      await relay?.ready();
    }
  }
  relay?.end();
  flush();
  options.onProgress?.({ events, ...(total === undefined ? {} : { total: Math.max(total, events) }), position: last });
  // Snapshots of the final states (or of positions past the end of the log; a segment's are the next one's).
  for (const entry of entries) compareBefore(entry, stop);
  for (const { problem, snapshot } of recheck) {
    const precise = await checkSnapshotPrecisely(log, snapshot);
    if (precise.ownMismatch !== undefined) Object.assign(problem, { detail: precise.ownMismatch.detail, computed: precise.ownMismatch.computed });
  }

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
      stateHash: e.failed || options.finalHashes === false ? '' : entryHash(e),
    })),
    durationMs: performance.now() - started,
  };
  return { share: { report, verified, crossing: [...crossing], deferred, counts }, entries };
}

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

/** The second segment's share, and the projections it could not start from the checkpoint's snapshots (and why). */
type WorkerResult = ShareResult & { unstarted?: Record<string, string> };

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

/** `scan` with the own hash of each snapshot left to this share (ownElsewhere) checked here, from its stored text in `texts` if kept. */
async function ownHashesChecked(log: EventLog, scan: SnapshotScan, texts?: ReadonlyMap<Position, RecordedEventText>): Promise<SnapshotScan> {
  const pending: Record<string, StoredSnapshot[]> = {};
  for (const [name, snapshots] of Object.entries(scan.pending)) {
    pending[name] = [];
    for (const snapshot of snapshots) {
      if (snapshot.ownElsewhere !== true) pending[name].push(snapshot);
      else {
        const { ownElsewhere: _, ...head } = snapshot;
        pending[name].push(await checkSnapshot(log, head, texts?.get(head.event)));
      }
    }
  }
  return { ...scan, pending };
}

/** The second segment on a worker: its projections from their snapshots at the checkpoint, and the sessions after it if asked. */
async function segmentShare(log: EventLog, request: ReplayShareRequest & { kind: 'segment' }): Promise<WorkerResult> {
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
/** Stored snapshot texts (characters) a segmented replay keeps from its plan to its own-hash checks; beyond, they are read again. */
const TEXTS_KEPT = 256 * 1024 * 1024;
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

/** A replay worker, started before it is told what to do (loading the code takes a few tenths of a second). */
interface ReplayWorker {
  ask(request: ReplayShareRequest, transferList?: MessagePort[]): Promise<WorkerResult>;
  close(): Promise<void>;
}

function startReplayWorker(parallel: ReplayWorkerData, signal: AbortSignal | undefined): ReplayWorker {
  const worker = newWorker(new URL('./replayWorker.mjs', import.meta.url), {
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
async function parallelReplay(log: EventLog, options: ReplayOptions, parallel: ReplayWorkerData & { split?: 'ledger' | 'checkpoint' }): Promise<ReplayReport> {
  const started = performance.now();
  const worker = startReplayWorker({ location: parallel.location, guardian: parallel.guardian }, options.signal);
  try {
    if (options.fromCheckpoint === undefined && parallel.split === 'checkpoint') {
      const total = options.total ?? (await estimateEventCount(log, []));
      const planned = await planSegments(log, total);
      if (planned !== undefined) return await segmentedReplay(log, options, worker, planned, total, started);
    }
    return await ledgerSplitReplay(log, options, worker, started);
  } finally {
    await worker.close();
  }
}

/**
 * The log cut at a checkpoint (planSegments): this thread replays up to it and compares its states
 * there with the checkpoint's snapshots, which the worker starts from. Where they all match, the
 * worker started from the true states and its findings stand; a projection whose snapshot differs
 * (or does not hash or decode) is replayed again here from this thread's state, over the second
 * segment. Each thread checks the sessions on its side; a session with events on both sides (not
 * in a log the engine wrote) is checked again here over the whole log.
 */
async function segmentedReplay(
  log: EventLog,
  options: ReplayOptions,
  worker: ReplayWorker,
  { plan, firstScan, texts }: { plan: SegmentPlan; firstScan: SnapshotScan; texts: Map<Position, RecordedEventText> },
  total: number | undefined,
  started: number,
): Promise<ReplayReport> {
  const { onProgress, progressEvery, signal, batchVerifier } = options;
  const shared = { ...(signal === undefined ? {} : { signal }), ...(total === undefined ? {} : { total }), ...(batchVerifier === undefined ? {} : { batchVerifier }) };
  const progress = new MessageChannel();
  const all = standardProjections();
  // The second segment: the worker replays the ledger (ledger and audit, one fold) from the
  // checkpoint's snapshots and checks the sessions after it; this thread, once done with the
  // first, continues the lighter four from its own states there (the worker's snapshot decoding
  // and larger states leave it the longer share otherwise).
  const workerNames = new Set(WORKER_SHARE);
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

/**
 * The stored snapshots of every standard projection, as one scan per group of projections. A
 * snapshot stored as canonical text is checked as it is read (its state text hashes to its
 * stateHash: textChecked), since the text is at hand; any other's own hash is left to the share
 * that compares it (ownElsewhere), which parses it. The stored texts of such snapshots of
 * `keepTexts` projections are kept in `texts` for those checks, up to TEXTS_KEPT.
 */
async function headScans(
  log: EventLog,
  groups: ReadonlyArray<readonly AnyProjection[]>,
  texts: Map<Position, RecordedEventText>,
  keepTexts: ReadonlySet<string>,
  after: Position = START,
): Promise<SnapshotScan[]> {
  let kept = 0;
  const textChecked = new Set<Position>();
  const keep = (event: RecordedEventText) => {
    const parts = snapshotTextParts(event);
    if (parts !== undefined && canonicalTextHash(parts.stateText) === parts.head.stateHash) {
      textChecked.add(event.position);
      return;
    }
    if (!keepTexts.has(event.stream.slice(streams.checkpoint('').length)) || kept + event.data.length > TEXTS_KEPT) return;
    kept += event.data.length;
    texts.set(event.position, event);
  };
  const scans: SnapshotScan[] = [];
  for (const projections of groups) {
    const byName = new Map(projections.map((p) => [p.name, p]));
    const scan: SnapshotScan = { pending: {}, scanned: [], unchecked: 0 };
    for (const projection of projections) {
      for (const head of await snapshotHeads(log, projection.name, after, keep)) {
        scan.scanned.push(head.event);
        const owner = byName.get(head.projection);
        // Another projection or another version of this one: nothing this code can compare against.
        if (owner === undefined || head.version !== owner.version) scan.unchecked++;
        else (scan.pending[owner.name] ??= []).push(textChecked.has(head.event) ? { ...head, textChecked: true } : { ...head, ownElsewhere: true });
      }
    }
    for (const list of Object.values(scan.pending)) list.sort(byPositionThenEvent);
    scans.push(scan);
  }
  return scans;
}

/**
 * The findings of comparisons whose snapshots' own hashes are checked here: each snapshot once
 * (`own` remembers them; `texts` holds stored texts already read). Calls `ok` for each that matched.
 */
async function concludeDeferred(
  log: EventLog,
  deferred: readonly DeferredComparison[],
  own: Map<Position, CheckedSnapshot>,
  texts?: ReadonlyMap<Position, RecordedEventText>,
  ok: (d: DeferredComparison) => void = () => {},
): Promise<ReplayProblem[]> {
  const found: ReplayProblem[] = [];
  for (const d of deferred) {
    const { snapshot, projection, computed } = d;
    let checked = own.get(snapshot.event);
    if (checked === undefined) {
      checked = await checkSnapshot(log, snapshot, texts?.get(snapshot.event));
      own.set(snapshot.event, checked);
    }
    if (checked.ownMismatch === undefined && computed !== snapshot.stateHash && checked.textChecked === true) checked = await checkSnapshotPrecisely(log, snapshot);
    const where = { kind: 'snapshot' as const, projection, session: snapshot.session, position: snapshot.position, stored: snapshot.stateHash };
    if (checked.ownMismatch !== undefined) found.push({ ...where, detail: checked.ownMismatch.detail, computed: checked.ownMismatch.computed });
    else if (computed !== snapshot.stateHash) found.push({ ...where, detail: 'stored state hash differs from the rebuilt state', computed });
    else ok(d);
  }
  return found;
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

/** The stored snapshots in the checkpoint streams of `projections` appended after `after`, each checked against its own hash once (see storedSnapshots.ts). */
async function scanSnapshots(log: EventLog, projections: readonly AnyProjection[], after: Position): Promise<SnapshotScan> {
  const texts = new Map<Position, RecordedEventText>();
  const [scan] = await headScans(log, [projections], texts, new Set(projections.map((p) => p.name)), after);
  return ownHashesChecked(log, scan!, texts);
}

const byPositionThenEvent = (a: SnapshotHead, b: SnapshotHead) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.event < b.event ? -1 : a.event > b.event ? 1 : 0);
