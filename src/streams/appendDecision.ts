import type { Position } from './eventLog.ts';

/**
 * The optimistic-concurrency and idempotence rule of the local adapters (sqlite, memory): see
 * appendDecision.mjs, where it lives as plain JavaScript so that the sqlite writer thread applies
 * the very same code as the adapters on the main thread.
 */

export type AppendDecision =
  | { kind: 'write' }
  | { kind: 'retry'; lastRevision: number; position: Position }
  | { kind: 'conflict'; actual: number | 'noStream' };

export interface StoredEventRef {
  id: string;
  position: Position;
}

export { decideAppend } from './appendDecision.mjs';
