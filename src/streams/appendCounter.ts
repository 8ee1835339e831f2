import { START, type EventLog, type Position } from './eventLog.ts';

/**
 * A log that counts the events appended through it. Positions say where events are, not how many
 * there are: EventStoreDB's are byte offsets (and a deleted stream leaves gaps in SQLite's), so a
 * reader that must say how far behind it is in events (the projections' lag) needs this count
 * from whoever writes, not the difference of two positions.
 */
export interface AppendCount {
  /** Events appended through this object since it was made (an idempotent retry counts again). */
  events: number;
  /** Position of the newest of them (START before any): a reader there has seen every one. */
  position: Position;
}

export interface AppendCountingLog extends EventLog {
  appended(): AppendCount;
}

export function countAppends(log: EventLog): AppendCountingLog {
  const count: AppendCount = { events: 0, position: START };
  return {
    ...log,
    async append(stream, events, options) {
      const result = await log.append(stream, events, options);
      count.events += events.length;
      if (result.position > count.position) count.position = result.position;
      return result;
    },
    appended: () => ({ ...count }),
  };
}
