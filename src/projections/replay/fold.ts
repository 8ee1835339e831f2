import { START, type Position, type RecordedEvent } from '../../streams/eventLog.ts';
import { foldInto, projectionStateHash, type AnyProjection } from '../projection.ts';
import type { ReplayProblem } from './replayReport.ts';
import type { StoredSnapshot } from './snapshotScan.ts';

/** One projection's fold in a replay share, and the stored snapshots it is still to be compared with. */
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
  /** The hash of a state computed last (a state is not changed once a later one exists: the same object has the same hash). */
  hashed?: { state: unknown; hash: string };
}

export function newEntry(projection: AnyProjection): Entry {
  return { projection, state: projection.initial, position: START, failed: false, start: START, changedAt: START, pending: [], next: 0 };
}

/** The hash of an entry's state, computed once per state. */
export function entryHash(entry: Entry): string {
  if (entry.hashed === undefined || entry.hashed.state !== entry.state) entry.hashed = { state: entry.state, hash: projectionStateHash(entry.projection, entry.state) };
  return entry.hashed.hash;
}

/** Folds one event into every projection that has not seen it. */
export function applyEvent(entries: readonly Entry[], event: RecordedEvent, problems: ReplayProblem[]): void {
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

/** Folds a page of events (ascending) into every projection that has not seen them; a failure is reported at its event, as `applyEvent` reports it. */
export function applyPage(entries: readonly Entry[], page: readonly RecordedEvent[], problems: ReplayProblem[]): void {
  for (const entry of entries) {
    if (entry.failed) continue;
    const before = entry.state;
    const failed = foldInto(entry, page);
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
