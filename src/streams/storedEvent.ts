import { randomUUID } from 'node:crypto';
import { CorruptEventError } from './errors.ts';
import type { EventMetadata, EventToAppend, Position, RecordedEvent, RecordedEventText } from './eventLog.ts';

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

/**
 * Metadata as the schema decorator stamps it, `{"schemaVersion":n,"guardian":n,"recordedAt":"..."}`
 * with no escapes or control characters in the string: for that exact text JSON.parse returns
 * exactly these three fields, so they are taken from the match. Anything else goes to JSON.parse.
 */
// eslint-disable-next-line no-control-regex -- raw control characters are not JSON, so they must not match
const STAMPED_METADATA = /^\{"schemaVersion":(0|[1-9][0-9]{0,8}),"guardian":(0|[1-9][0-9]{0,8}),"recordedAt":"([^"\\\x00-\x1f]*)"\}$/;

/**
 * The last stamped metadata text read and its fields. Events appended together share their
 * metadata text, so most rows of a log repeat the previous row's: comparing the text is cheaper
 * than parsing it. Each event still gets its own metadata object.
 */
let lastMetadataText = '';
let lastSchemaVersion = 0;
let lastGuardian = 0;
let lastRecordedAt = '';

function parseMetadata(position: Position, metadata: string): EventMetadata {
  if (metadata === lastMetadataText) return { schemaVersion: lastSchemaVersion, guardian: lastGuardian, recordedAt: lastRecordedAt };
  const stamped = STAMPED_METADATA.exec(metadata);
  if (stamped !== null) {
    lastMetadataText = metadata;
    lastSchemaVersion = Number(stamped[1]);
    lastGuardian = Number(stamped[2]);
    lastRecordedAt = stamped[3]!;
    return { schemaVersion: lastSchemaVersion, guardian: lastGuardian, recordedAt: lastRecordedAt };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata);
  } catch (error) {
    throw new CorruptEventError(position, `metadata is not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CorruptEventError(position, 'metadata is not a JSON object');
  }
  // Raw adapters return metadata as stored; withEventSchemas is what guarantees it is complete.
  return parsed as EventMetadata;
}

/**
 * The previous row's type and stream. A row read from storage brings new copies of these short
 * strings; handing out one string per run of equal ones lets the copies die at once, and each
 * lookup keyed by the type (schema, check, upcaster) finds a key it has seen before.
 */
let lastType = '';
let lastStream = '';

/** Rebuilds a recorded event; text that is not JSON is reported with its position, never skipped. */
export function decodeEvent(position: Position, stream: string, revision: number, id: string, type: string, data: string, metadata: string): RecordedEvent {
  if (type === lastType) type = lastType;
  else lastType = type;
  if (stream === lastStream) stream = lastStream;
  else lastStream = stream;
  let parsedData: unknown;
  try {
    parsedData = JSON.parse(data);
  } catch (error) {
    throw new CorruptEventError(position, `data is not JSON (${(error as Error).message})`);
  }
  return { id, stream, revision, position, type, data: parsedData, metadata: parseMetadata(position, metadata) };
}

/** A recorded event with its data text as stored (readStreamText): only the metadata is decoded. */
export function decodeEventText(position: Position, stream: string, revision: number, id: string, type: string, data: string, metadata: string): RecordedEventText {
  return { id, stream, revision, position, type, data, metadata: parseMetadata(position, metadata) };
}
