import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import { federationTag } from '../domain/federation.ts';
import { concludeSignedOutcomeCheck, planSignedOutcomeCheck, type SignedOutcomePlan } from '../domain/signedOutcomeCheck.ts';
import { createBatchVerifier } from '../runtime/signatures/batchVerifier.ts';
import type { SignatureCheck } from '../domain/signatureBackend.ts';
import { START, type EventLog, type Position, type RecordedEvent } from '../streams/eventLog.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { isEvent, streams, type FederationConfigured, type ItemAccepted, type SignatureRecorded, type SnapshotTaken } from '../streams/events.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { createMerkleAccumulator, type MerkleAccumulator } from '../domain/merkleAccumulator.ts';
import { nativeAcceptedItemHash, nativeHashPair } from './nativeSha256.ts';
import { decodeSnapshot } from './checkpointStore.ts';
import { foldInto, projectionStateHash, stateHash, type AnyProjection, type JsonValue } from './projection.ts';
import { checkSnapshotPrecisely, type CheckedSnapshot, type SnapshotHead } from './storedSnapshots.ts';
import { standardProjections } from './standardProjections.ts';
import { inPlaceLedgerProjection } from './ledger.ts';
import { inPlaceAuditProjection } from './audit.ts';
import { inPlaceTransactionsProjection } from './transactions.ts';
import { replayPendingItemsProjection } from './pendingItems.ts';
import { planRecordedSignatures, storedItemProblems, type RecordedSignature, type RecordedSignaturesPlan } from './storedDataChecks.ts';
import type { ReplayOptions, ReplayProblem, ReplayReport } from './replay.ts';
import { scanSnapshots } from './replaySnapshotScan.ts';

/**
 * One share of a replay: the fold of some projections over the log (or a segment of it), with
 * the session header and signature checks and the comparisons with stored snapshots. A one-thread
 * replay is one share; a parallel replay (replayParallel.ts) runs one on each thread.
 */

/**
 * A replay share reads only the newest state of each projection (its comparisons hash a state
 * when the fold reaches a snapshot's position), so replay of the standard projections folds
 * `ledger`, `audit` and `transactions` in place (inPlaceLedgerState, inPlaceTransactionsProjection)
 * and keeps pending items as bytes (replayPendingItemsProjection): the same states, hashes and
 * findings.
 */
export function replayVariant(projection: AnyProjection): AnyProjection {
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

const WORKERS_FROM = 512;

/** Events folded per evolveAll call. */
const BATCH = 1024;

export interface Entry {
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
  /** Its SignatureRecorded events, checked against the recomputed header once it completes. */
  recorded: RecordedSignature[];
}

/** A completed session's signatures, verified in one batch with every other session's at the end. */
interface PendingSignatures {
  session: number;
  plan: SignedOutcomePlan;
  /** Where its checks start in the batch. */
  first: number;
  /** Its SignatureRecorded events' checks, right after the plan's in the batch. */
  recorded: RecordedSignaturesPlan;
}

/** The hash of an entry's state, computed once per state. */
function entryHash(entry: Entry): string {
  if (entry.hashed === undefined || entry.hashed.state !== entry.state) entry.hashed = { state: entry.state, hash: projectionStateHash(entry.projection, entry.state) };
  return entry.hashed.hash;
}

export async function replayShareHere(log: EventLog, options: ReplayOptions): Promise<{ share: ShareResult; entries: Entry[] }> {
  const started = performance.now();
  const projections = options.projections ?? standardProjections().map(replayVariant);
  const verifySessions = options.verifySessions ?? true;
  const elsewhere = new Set(options.elsewhere ?? []);
  const problems: ReplayProblem[] = [];
  const progressEvery = options.progressEvery ?? 10_000;

  const federation = (await log.readStream(streams.federation)).find((e) => isEvent(e, 'FederationConfigured'))?.data as FederationConfigured | undefined;
  const keys = federation === undefined ? undefined : new Map(Object.entries(federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  const tag = keys === undefined ? undefined : federationTag(keys);

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

  const openSession = (session: number, firstItem: boolean): OpenSession => {
    let open = sessions.get(session);
    if (open === undefined) {
      open = { leaves: createMerkleAccumulator(nativeHashPair), complete: firstItem || wholeFromFirst, recorded: [] };
      sessions.set(session, open);
    }
    return open;
  };

  const onItem = (data: ItemAccepted, item: Uint8Array) => {
    const { session, index, peer } = data;
    if (!isMine(session)) return;
    const open = openSession(session, index === 0);
    const leaf = nativeAcceptedItemHash(item, peer);
    // Derived fields are served (the API's items) and relied on (a restart's merkle leaves): recomputed, whatever the session.
    for (const detail of storedItemProblems(data, item, leaf)) problems.push({ kind: 'header', session, detail: `item ${index}: ${detail}` });
    if (!open.complete) return;
    if (index !== open.leaves.count) {
      problems.push({ kind: 'header', session, detail: `item index ${index} where ${open.leaves.count} was expected` });
      open.complete = false;
      return;
    }
    open.leaves.add(leaf);
  };

  const onSignatureRecorded = (data: SignatureRecorded) => {
    if (isMine(data.session)) openSession(data.session, false).recorded.push(data);
  };

  const onCompleted = (data: { session: number; header: string; itemCount: number; signatures: Record<string, string> }) => {
    if (!isMine(data.session)) return;
    const open = sessions.get(data.session) ?? { leaves: createMerkleAccumulator(nativeHashPair), complete: wholeFromFirst, recorded: [] };
    sessions.delete(data.session);
    if (!open.complete) return;
    verifiedSessions++;
    verified.push(data.session);
    const accepted = open.leaves.count;
    const header = open.leaves.header(data.session);
    const computed = bytesToHex(header);
    if (computed !== data.header) problems.push({ kind: 'header', session: data.session, detail: 'stored header differs from the header of the accepted items', stored: data.header, computed });
    else if (data.itemCount !== accepted) problems.push({ kind: 'header', session: data.session, detail: `itemCount ${data.itemCount}, but ${accepted} items were accepted` });
    if (keys === undefined || tag === undefined) {
      problems.push({ kind: 'signature', session: data.session, detail: 'no FederationConfigured event: signatures cannot be verified' });
      return;
    }
    const plan = planSignedOutcomeCheck({ header: hexToBytes(data.header), signatures: data.signatures, keys, tag });
    const recorded = planRecordedSignatures(open.recorded, header, keys, tag);
    pendingSignatures.push({ session: data.session, plan, first: signatureChecks.length, recorded });
    for (const check of plan.checks) signatureChecks.push(check);
    for (const check of recorded.checks) signatureChecks.push(check);
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
    } else if (item !== undefined && isEvent(event, 'ItemAccepted')) onItem(event.data, item);
    else if (isEvent(event, 'SignatureRecorded')) onSignatureRecorded(event.data);
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

  if (pendingSignatures.length > 0) {
    const verifier = signatureChecks.length === 0 ? undefined : (options.batchVerifier ?? createBatchVerifier());
    try {
      // Worker threads pay off only for many signatures (a long multi-guardian history); a few are checked inline.
      const mode = signatureChecks.length < WORKERS_FROM ? 'inline' : 'auto';
      const answers = verifier === undefined ? [] : await verifier.verifyBatch(signatureChecks, options.signal === undefined ? { mode } : { mode, signal: options.signal });
      for (const { session, plan, first, recorded } of pendingSignatures) {
        const check = concludeSignedOutcomeCheck(plan, answers.slice(first, first + plan.checks.length));
        if (!check.met) problems.push({ kind: 'signature', session, detail: `${check.valid.length} valid federation signatures, threshold is ${check.threshold}` });
        const recordedFirst = first + plan.checks.length;
        for (const detail of recorded.conclude(answers.slice(recordedFirst, recordedFirst + recorded.checks.length))) problems.push({ kind: 'signature', session, detail });
      }
    } finally {
      if (verifier !== undefined && options.batchVerifier === undefined) await verifier.close();
    }
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
    const before = entry.state;
    const failed = foldInto(entry, batch);
    if (failed === undefined) {
      // Somewhere in the page; only an unscanned snapshot inside it would need more precision, and it is then counted as unchecked.
      if (entry.state !== before) entry.changedAt = entry.position;
      continue;
    }
    // One broken projection must not hide what the others and the signature checks find.
    entry.failed = true;
    problems.push({ kind: 'projection', projection: entry.projection.name, position: failed.position.toString(), detail: failed.message });
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
