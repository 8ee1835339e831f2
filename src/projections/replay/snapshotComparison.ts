import type { EventLog, Position } from '../../streams/eventLog.ts';
import { streams, type SnapshotTaken } from '../../streams/events.ts';
import { stateHash, type JsonValue } from '../projection.ts';
import { checkSnapshotPrecisely, type SnapshotHead } from '../storedSnapshots.ts';
import { entryHash, type Entry } from './fold.ts';
import type { ReplayProblem } from './replayReport.ts';
import type { DeferredComparison, SnapshotScan, StoredSnapshot } from './snapshotScan.ts';

/**
 * The comparisons of a share's rebuilt states with the stored snapshots. The fold hashes a state
 * exactly when it reaches a snapshot's position (the snapshots were found before it, snapshotScan.ts),
 * so it never keeps past states around.
 */
export interface SnapshotComparisons {
  checked: number;
  unchecked: number;
  /** Comparisons whose snapshot's own hash the other share checks. */
  readonly deferred: DeferredComparison[];
  /** The position of the earliest stored snapshot still to compare, if any. */
  nextAt(): Position | undefined;
  /** Every pending snapshot of `entry` that reflects a position before `position` (all, if undefined): the state there is the current one. */
  compareBefore(entry: Entry, position: Position | undefined): void;
  /** A SnapshotTaken read in the fold that the scan did not find (unusual): comparable only if the state has not changed since. */
  checkUnscanned(event: Position, data: SnapshotTaken): void;
  /** After the fold: mismatches with a snapshot checked on its text only are told apart from a snapshot that does not hold its own hash. */
  settle(log: EventLog): Promise<void>;
}

/** `elsewhere`: projections the other share folds, whose snapshots are not this share's to count. */
export function snapshotComparisons(entries: readonly Entry[], scan: SnapshotScan, elsewhere: ReadonlySet<string>, problems: ReplayProblem[]): SnapshotComparisons {
  const byName = new Map(entries.map((e) => [e.projection.name, e]));
  const scanned = new Set<Position>(scan.scanned);
  const deferred: DeferredComparison[] = [];
  const recheck: Array<{ problem: ReplayProblem & { kind: 'snapshot' }; snapshot: StoredSnapshot }> = [];
  // Each list comes sorted by position from the scan.
  for (const entry of entries) entry.pending.push(...(scan.pending[entry.projection.name] ?? []));

  const result: SnapshotComparisons = { checked: 0, unchecked: scan.unchecked, deferred, nextAt, compareBefore, checkUnscanned, settle };
  return result;

  function nextAt(): Position | undefined {
    let at: Position | undefined;
    for (const entry of entries) {
      const snapshot = entry.pending[entry.next];
      if (snapshot !== undefined && (at === undefined || snapshot.at < at)) at = snapshot.at;
    }
    return at;
  }

  /** Compares `entry`'s current state, which is its state at `snapshot.at`, with a stored snapshot. */
  function compare(entry: Entry, snapshot: StoredSnapshot): void {
    if (entry.failed || snapshot.at < entry.start) {
      // Before where this projection's replay started, or after it broke: not comparable.
      result.unchecked++;
      return;
    }
    result.checked++;
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
  }

  function compareBefore(entry: Entry, position: Position | undefined): void {
    while (entry.next < entry.pending.length) {
      const snapshot = entry.pending[entry.next]!;
      if (position !== undefined && snapshot.at >= position) return;
      entry.next++;
      compare(entry, snapshot);
    }
  }

  function checkUnscanned(event: Position, data: SnapshotTaken): void {
    if (scanned.has(event) || elsewhere.has(data.projection)) return;
    const entry = byName.get(data.projection);
    const at = BigInt(data.position);
    if (entry === undefined || data.version !== entry.projection.version || entry.changedAt > at) {
      result.unchecked++;
      return;
    }
    const own = stateHash(data.state as JsonValue);
    const head: SnapshotHead = { event, stream: streams.checkpoint(data.projection), revision: -1, projection: data.projection, version: data.version, position: data.position, at, session: data.session, stateHash: data.stateHash };
    compare(entry, own === data.stateHash ? head : { ...head, ownMismatch: { computed: own, detail: 'stored state does not match its own state hash' } });
  }

  async function settle(log: EventLog): Promise<void> {
    for (const { problem, snapshot } of recheck) {
      const precise = await checkSnapshotPrecisely(log, snapshot);
      if (precise.ownMismatch !== undefined) Object.assign(problem, { detail: precise.ownMismatch.detail, computed: precise.ownMismatch.computed });
    }
  }
}
