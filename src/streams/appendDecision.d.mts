import type { AppendDecision, StoredEventRef } from './appendDecision.ts';
import type { ExpectedRevision } from './eventLog.ts';

export declare function decideAppend(
  expected: ExpectedRevision,
  current: number,
  ids: readonly (string | undefined)[],
  eventAt: (revision: number) => StoredEventRef | undefined,
): AppendDecision;
