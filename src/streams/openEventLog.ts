import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventLog } from './eventLog.ts';
import { createMemoryEventLog } from './memoryEventLog.ts';
import { withEventSchemas, type SchemaOptions } from './schemaCheckedLog.ts';
import { createSqliteEventLog, type SqliteEventLogOptions } from './sqliteEventLog.ts';

/** Where a guardian's log lives. */
export type EventLogLocation =
  | { kind: 'sqlite'; path: string; commitOn?: SqliteEventLogOptions['commitOn'] }
  | { kind: 'memory' }
  | { kind: 'eventstoredb'; url: string; streamPrefix?: string };

/**
 * The one way the engine opens its log: the raw adapter for `location`, wrapped in the schema
 * decorator. The EventStoreDB client is imported only when that adapter is chosen, so an embedded
 * guardian never loads it.
 */
export async function openEventLog(location: EventLogLocation, options: SchemaOptions): Promise<EventLog> {
  return withEventSchemas(await openRawEventLog(location), options);
}

export async function openRawEventLog(location: EventLogLocation): Promise<EventLog> {
  switch (location.kind) {
    case 'sqlite':
      // A guardian's data directory may not exist yet on first start.
      if (location.path !== ':memory:') mkdirSync(dirname(location.path), { recursive: true });
      return createSqliteEventLog(location.path, location.commitOn === undefined ? {} : { commitOn: location.commitOn });
    case 'memory':
      return createMemoryEventLog();
    case 'eventstoredb': {
      const { createEventStoreDbLog } = await import('./eventStoreDb.ts');
      return createEventStoreDbLog(location.url, location.streamPrefix === undefined ? {} : { streamPrefix: location.streamPrefix });
    }
  }
}
