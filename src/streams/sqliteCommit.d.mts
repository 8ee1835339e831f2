import type Database from 'better-sqlite3';
import type { ExpectedRevision, Position } from './eventLog.ts';
import type { StoredEvent } from './storedEvent.ts';

export interface CommitAppend {
  stream: string;
  expected: ExpectedRevision;
  events: readonly StoredEvent[];
}

/** One per append of a batch, in order: written (or an idempotent retry), or a revision conflict that wrote nothing. */
export type CommitOutcome = { ok: true; nextExpectedRevision: number; position: Position } | { ok: false; actual: number | 'noStream' };

export declare function prepareCommit(db: Database.Database): (batch: readonly CommitAppend[]) => CommitOutcome[];
