import type Database from 'better-sqlite3';
import type { ExpectedRevision, Position } from './eventLog.ts';
import type { StoredEvent } from './storedEvent.ts';

export interface CommitAppend {
  stream: string;
  expected: ExpectedRevision;
  events: readonly StoredEvent[];
}

/** One per append of a batch, in order: written (or an idempotent retry), a revision conflict that wrote nothing, or an error of that append alone (rolled back to its savepoint). */
export type CommitOutcome =
  | { ok: true; nextExpectedRevision: number; position: Position }
  | { ok: false; actual: number | 'noStream' }
  | { ok: false; error: { name: string; message: string; code?: string } };

export declare function prepareCommit(db: Database.Database): (batch: readonly CommitAppend[]) => CommitOutcome[];
