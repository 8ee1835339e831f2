import type { Position } from '../../streams/eventLog.ts';
import type { FederationConfigured } from '../../streams/events.ts';
import type { EventLogLocation } from '../../streams/openEventLog.ts';
import type { AnyProjection } from '../projection.ts';

export interface ReplayProgress {
  events: number;
  /** Events in the log, estimated from the position of its newest event (exact for sqlite and memory logs, whose positions are dense). */
  total?: number;
  position: Position;
}

/** Where a log is stored, so that a second thread can open it too. */
export interface ReplayLogLocation {
  location: EventLogLocation;
  guardian: number;
}

export interface ReplayOptions {
  /** Start every projection from its checkpoint taken at this session (one without such a checkpoint starts from 0). */
  fromCheckpoint?: number;
  /**
   * Replay on two threads: a worker thread opens the log here and folds `ledger`, `audit` and
   * `transactions` while this one reads, checks the sessions and folds the rest. Only with the
   * standard projections, and not for an in-memory log (one thread then).
   */
  parallel?: ReplayLogLocation;
  onProgress?: (progress: ReplayProgress) => void;
  /** Report progress every this many events (default 10,000), and once at the end. */
  progressEvery?: number;
  /** The caller's `estimateEventCount` of this log, if it has one (each estimate is a few dozen reads). */
  total?: number;
  signal?: AbortSignal;
  /** Default standardProjections(). */
  projections?: readonly AnyProjection[];
  /** The guardian config's FederationConfigured, when there is one: an edited field of the log's is then named. */
  configured?: FederationConfigured;
}
