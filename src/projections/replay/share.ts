import { START, type EventLog, type Position, type RecordedEvent } from '../../streams/eventLog.ts';
import { pagesOf } from '../../streams/pagedRead.ts';
import { isEvent, streams, type FederationConfigured, type SnapshotTaken } from '../../streams/events.ts';
import { acceptedItemBytes } from '../acceptedItemBytes.ts';
import { decodeSnapshot } from '../checkpointStore.ts';
import { checkpointStreams } from '../checkpointTiers.ts';
import type { AnyProjection } from '../projection.ts';
import { estimateEventCount } from './eventCount.ts';
import { applyEvent, applyPage, entryHash, newEntry, type Entry } from './fold.ts';
import type { RelayWriter } from './relay.ts';
import type { ReplayProgress } from './replayOptions.ts';
import { problemCounts, type ReplayProblem, type ReplayReport } from './replayReport.ts';
import { sessionChecks } from './sessionChecks.ts';
import { snapshotComparisons } from './snapshotComparison.ts';
import { scanSnapshots, type DeferredComparison, type SnapshotScan } from './snapshotScan.ts';

/**
 * One share of a replay: the fold of some projections over the log, with the session header and
 * signature checks if asked and the comparisons with stored snapshots. A one-thread replay is one
 * share; a two-thread replay (twoThreads.ts) runs one on each thread.
 */

/** Events folded per page (one evolveBatch call per projection). */
const PAGE = 1024;

export interface ShareOptions {
  projections: readonly AnyProjection[];
  /** None of `projections` folds SnapshotTaken (the standard ones): the snapshots the scan read are passed over unread. */
  passOverSnapshots: boolean;
  /** Check the session headers and signatures (one share of a replay does). */
  verifySessions: boolean;
  /** Projections the other share folds: their snapshots are not this share's to count. */
  elsewhere?: readonly string[];
  /** The scan of this share's checkpoint streams, if the caller made it (scanSnapshots with this share's projections and start). */
  snapshotScan?: SnapshotScan;
  /** Positions of the SnapshotTaken events of `elsewhere` projections, which the other share reads and checks: passed over here. */
  scannedElsewhere?: readonly Position[];
  /** Every event read is relayed to the worker thread, which reads none itself. */
  relay?: RelayWriter;
  fromCheckpoint?: number;
  total?: number;
  onProgress?: (progress: ReplayProgress) => void;
  progressEvery?: number;
  signal?: AbortSignal;
}

/** A share's report and the comparisons left to the other share (plain data: it crosses threads). */
export interface ShareResult {
  report: ReplayReport;
  deferred: DeferredComparison[];
}

export async function replayShare(log: EventLog, options: ShareOptions): Promise<ShareResult> {
  const started = performance.now();
  const { projections, verifySessions, relay } = options;
  const problems: ReplayProblem[] = [];
  const progressEvery = options.progressEvery ?? 10_000;

  const entries = projections.map(newEntry);
  if (options.fromCheckpoint !== undefined) for (const entry of entries) await startFromCheckpoint(log, entry, options.fromCheckpoint, problems);
  const from = entries.reduce((min, e) => (e.position < min ? e.position : min), entries[0]?.position ?? START);
  const total = options.total ?? (await estimateEventCount(log, projections));

  const federation = (await log.readStream(streams.federation)).find((e) => isEvent(e, 'FederationConfigured'))?.data as FederationConfigured | undefined;
  const sessions = sessionChecks(federation, from === START, problems);
  // Stored snapshots are found before the fold (newest first, one at a time: each holds a whole state).
  const scan = options.snapshotScan ?? (await scanSnapshots(log, projections, from));
  const snapshots = snapshotComparisons(entries, scan, new Set(options.elsewhere ?? []), problems);

  let events = 0;
  let last = from;
  // Events are folded a page at a time, cut wherever a stored snapshot must be compared, so each
  // comparison still sees the state at its position. A fresh array per page: projections may keep it.
  let page: RecordedEvent[] = [];
  const flush = () => {
    if (page.length === 0) return;
    // The worker gets the page before this thread folds it.
    relay?.flush();
    applyPage(entries, page, problems);
    page = [];
  };
  let nextSnapshotAt = snapshots.nextAt();
  /** What every event starts with: counted, and the stored snapshots of positions before it compared. */
  const reach = (position: Position) => {
    events++;
    last = position;
    if (nextSnapshotAt !== undefined && position > nextSnapshotAt) {
      flush();
      for (const entry of entries) if (entry.next < entry.pending.length) snapshots.compareBefore(entry, position);
      nextSnapshotAt = snapshots.nextAt();
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
      applyEvent(entries, event, problems);
      snapshots.checkUnscanned(event.position, event.data);
    } else {
      page.push(event);
      if (page.length >= PAGE) flush();
    }
    if (verifySessions) {
      if (item !== undefined && isEvent(event, 'ItemAccepted')) sessions.onItem(event.data, item);
      else if (isEvent(event, 'SignatureRecorded')) sessions.onSignatureRecorded(event.data);
      else if (isEvent(event, 'SessionCompleted')) sessions.onCompleted(event.data);
    }
    reportProgress();
  };
  /**
   * A SnapshotTaken the scan read, passed over without reading it again (snapshot states are most
   * of a log's bytes): what `onEvent` does with it, since none of the projections changes on it.
   */
  const passOver = (position: Position) => {
    reach(position);
    flush();
    for (const entry of entries) if (!entry.failed && entry.position < position) entry.position = position;
    reportProgress();
  };
  const onPage = async (events: readonly RecordedEvent[]) => {
    for (const event of events) onEvent(event);
    relay?.flush();
    await relay?.ready();
  };
  const passable = options.passOverSnapshots ? [...new Set([...scan.scanned, ...(options.scannedElsewhere ?? [])])].filter((p) => p > from).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  await readAround(log, from, passable, onPage, passOver);
  relay?.end();
  flush();
  options.onProgress?.({ events, ...(total === undefined ? {} : { total: Math.max(total, events) }), position: last });
  // Snapshots of the final states (or of positions past the end of the log).
  for (const entry of entries) snapshots.compareBefore(entry, undefined);
  await snapshots.settle(log);
  if (verifySessions) await sessions.concludeSignatures(options.signal);

  const report: ReplayReport = {
    events,
    sessions: sessions.verified,
    ...problemCounts(problems),
    snapshotsChecked: snapshots.checked,
    snapshotsUnchecked: snapshots.unchecked,
    problems,
    from,
    projections: entries.map((e) => ({ name: e.projection.name, version: e.projection.version, position: e.position.toString(), stateHash: e.failed ? '' : entryHash(e) })),
    durationMs: performance.now() - started,
  };
  return { report, deferred: snapshots.deferred };
}

/**
 * Reads the log after `from` a page at a time, except the events at `passable` positions (sorted),
 * which are handed to `passOver` unread: whole pages up to the next of them, then one page of the
 * events right before it. SQLite and memory positions are dense, so that page ends next to it;
 * where positions have gaps (EventStoreDB) a page may run past it, and it is then read as any other.
 */
async function readAround(log: EventLog, from: Position, passable: readonly Position[], onPage: (page: readonly RecordedEvent[]) => Promise<void>, passOver: (position: Position) => void): Promise<void> {
  // A page per await where the log offers it (no promise per event).
  const readPages = (after: Position, size: number) => log.readAllPages?.(after, size) ?? pagesOf(log.readAll(after), size);
  let after = from;
  let skip = 0;
  for (;;) {
    while (skip < passable.length && passable[skip]! <= after) skip++;
    const next = passable[skip];
    if (next === undefined) break;
    const gap = next - after - 1n;
    if (gap <= 0n) {
      passOver(next);
      after = next;
      continue;
    }
    const size = gap >= BigInt(PAGE) ? PAGE : Number(gap);
    let full = false;
    for await (const page of readPages(after, size)) {
      await onPage(page);
      if (page.length > 0) after = page[page.length - 1]!.position;
      full = page.length === size;
      if (!full || next - after - 1n < BigInt(PAGE)) break;
    }
    // The log ends, or a row cannot be read, before the snapshot: the read below tells which (a read error repeats).
    if (!full) break;
  }
  for await (const page of readPages(after, PAGE)) await onPage(page);
}

/** Starts `entry` from its projection's snapshot taken at session `session`, if one is usable; else it starts from 0 and a 'checkpoint' problem says why. */
async function startFromCheckpoint(log: EventLog, entry: Entry, session: number, problems: ReplayProblem[]): Promise<void> {
  const { projection } = entry;
  const chosen = await findSnapshot(log, projection.name, (s) => s.session === session && s.version === projection.version);
  const loaded = chosen === undefined ? undefined : decodeSnapshot(projection, chosen);
  if (loaded === undefined || 'reason' in loaded) {
    problems.push({ kind: 'checkpoint', projection: projection.name, detail: `no usable checkpoint at session ${session}${loaded === undefined ? '' : `: ${loaded.reason}`}; rebuilt from position 0` });
    return;
  }
  entry.state = loaded.state;
  entry.position = entry.start = entry.changedAt = loaded.position;
}

/** The newest SnapshotTaken of `projection` that `matches`, from any of its checkpoint streams, read newest first one at a time (snapshots are large). */
async function findSnapshot(log: EventLog, projection: string, matches: (snapshot: SnapshotTaken) => boolean): Promise<SnapshotTaken | undefined> {
  for (const stream of await checkpointStreams(log, projection)) {
    let revision: number | undefined;
    for (;;) {
      const [event] = await log.readStream(stream, { direction: 'backwards', maxCount: 1, ...(revision === undefined ? {} : { fromRevision: revision }) });
      if (event === undefined) break;
      if (isEvent(event, 'SnapshotTaken') && matches(event.data)) return event.data;
      if (event.revision === 0) break;
      revision = event.revision - 1;
    }
  }
  return undefined;
}
