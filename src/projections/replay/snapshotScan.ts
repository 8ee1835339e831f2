import { START, type EventLog, type Position, type RecordedEventText } from '../../streams/eventLog.ts';
import { projectionOfCheckpointStream } from '../checkpointTiers.ts';
import { canonicalTextHash, type AnyProjection } from '../projection.ts';
import { checkSnapshot, checkSnapshotPrecisely, snapshotHeads, snapshotTextParts, type CheckedSnapshot, type SnapshotHead } from '../storedSnapshots.ts';
import type { ReplayProblem } from './replayReport.ts';

/**
 * The stored snapshots a replay compares its rebuilt states with: found before the fold from the
 * checkpoint streams, reduced to their heads, and checked against their own hashes (as they are
 * read when their text is canonical, else by the share that compares them, or after the fold).
 */

/** A SnapshotTaken found before the fold, reduced to what the comparison needs (states run to megabytes). */
export interface StoredSnapshot extends CheckedSnapshot {
  /** Its own hash is checked by the other thread's share: the comparison is handed back as a DeferredComparison. */
  ownElsewhere?: true;
}

/** A comparison of a rebuilt state with a stored snapshot whose own hash the other share checks. */
export interface DeferredComparison {
  snapshot: StoredSnapshot;
  projection: string;
  /** The rebuilt state's hash. */
  computed: string;
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

/** `scan` with the own hash of each snapshot left to this share (ownElsewhere) checked here, from its stored text in `texts` if kept. */
export async function ownHashesChecked(log: EventLog, scan: SnapshotScan, texts?: ReadonlyMap<Position, RecordedEventText>): Promise<SnapshotScan> {
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

/** Stored snapshot texts (characters) kept from the scan for the own-hash checks after the fold; beyond, they are read again. */
export const TEXTS_KEPT = 256 * 1024 * 1024;

/**
 * The stored snapshots of every standard projection, as one scan per group of projections. A
 * snapshot stored as canonical text is checked as it is read (its state text hashes to its
 * stateHash: textChecked), since the text is at hand; any other's own hash is left to the share
 * that compares it (ownElsewhere), which parses it. The stored texts of such snapshots of
 * `keepTexts` projections are kept in `texts` for those checks, up to TEXTS_KEPT.
 */
export async function headScans(
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
    if (!keepTexts.has(projectionOfCheckpointStream(event.stream) ?? '') || kept + event.data.length > TEXTS_KEPT) return;
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
export async function concludeDeferred(
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

/** The stored snapshots in the checkpoint streams of `projections` appended after `after`, each checked against its own hash once (see storedSnapshots.ts). */
export async function scanSnapshots(log: EventLog, projections: readonly AnyProjection[], after: Position): Promise<SnapshotScan> {
  const texts = new Map<Position, RecordedEventText>();
  const [scan] = await headScans(log, [projections], texts, new Set(projections.map((p) => p.name)), after);
  return ownHashesChecked(log, scan!, texts);
}

export const byPositionThenEvent = (a: SnapshotHead, b: SnapshotHead) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.event < b.event ? -1 : a.event > b.event ? 1 : 0);
