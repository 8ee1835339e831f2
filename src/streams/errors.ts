import type { ExpectedRevision } from './eventLog.ts';

/** The stream's revision is not what the appender expected (optimistic concurrency). */
export class ExpectedRevisionConflict extends Error {
  override readonly name = 'ExpectedRevisionConflict';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'noStream' when it has no events. */
    readonly actual: number | 'noStream',
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

/** An event failed its schema at append; nothing was written. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  constructor(readonly stream: string, readonly type: string, readonly reason: string) {
    super(`stream ${stream}: event ${type} refused: ${reason}`);
  }
}

/** A stored event could not be read back (bad JSON, unknown type, schema failure): reported, never skipped. */
export class CorruptEventError extends Error {
  override readonly name = 'CorruptEventError';
  constructor(readonly position: bigint, readonly reason: string) {
    super(`event at position ${position} is corrupt: ${reason}`);
  }
}

/** The log was used after close(). */
export class EventLogClosedError extends Error {
  override readonly name = 'EventLogClosedError';
  constructor() {
    super('the event log is closed');
  }
}
