import { randomUUID } from 'node:crypto';
import { CorruptEventError } from './errors.ts';
import type { EventMetadata, EventToAppend, Position, RecordedEvent } from './eventLog.ts';

/**
 * The stored form of an event, shared by the local adapters: data and metadata as JSON text,
 * encoded once at append (so a value JSON cannot carry, such as a bigint, is refused before
 * anything is written) and decoded on every read (so no reader can mutate the log's copy).
 */
export interface StoredEvent {
  id: string;
  /** The caller-given id, or undefined when `id` was generated (used by the idempotence rule). */
  givenId: string | undefined;
  type: string;
  data: string;
  metadata: string;
}

export function encodeEvents(stream: string, events: readonly EventToAppend[]): StoredEvent[] {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('append: the stream name must be a non-empty string');
  return events.map((event) => {
    if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`append to ${stream}: every event needs a non-empty type`);
    if (event.id !== undefined && (typeof event.id !== 'string' || event.id.length === 0)) throw new TypeError(`append to ${stream}: an event id must be a non-empty string`);
    const data = JSON.stringify(event.data);
    if (data === undefined) throw new TypeError(`append to ${stream}: event ${event.type} has no JSON data`);
    return { id: event.id ?? randomUUID(), givenId: event.id, type: event.type, data, metadata: JSON.stringify(event.metadata ?? {}) };
  });
}

/** Rebuilds a recorded event; text that is not JSON is reported with its position, never skipped. */
export function decodeEvent(position: Position, stream: string, revision: number, id: string, type: string, data: string, metadata: string): RecordedEvent {
  let parsedData: unknown;
  let parsedMetadata: unknown;
  try {
    parsedData = JSON.parse(data);
  } catch (error) {
    throw new CorruptEventError(position, `data is not JSON (${(error as Error).message})`);
  }
  try {
    parsedMetadata = JSON.parse(metadata);
  } catch (error) {
    throw new CorruptEventError(position, `metadata is not JSON (${(error as Error).message})`);
  }
  if (typeof parsedMetadata !== 'object' || parsedMetadata === null || Array.isArray(parsedMetadata)) {
    throw new CorruptEventError(position, 'metadata is not a JSON object');
  }
  // Raw adapters return metadata as stored; withEventSchemas is what guarantees it is complete.
  return { id, stream, revision, position, type, data: parsedData, metadata: parsedMetadata as EventMetadata };
}
