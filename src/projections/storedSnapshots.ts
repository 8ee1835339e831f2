import { CorruptEventError } from '../streams/errors.ts';
import type { EventLog, Position, RecordedEvent, RecordedEventText } from '../streams/eventLog.ts';
import { eventSchemas, isEvent, upcastAndValidate, type SnapshotTaken } from '../streams/events.ts';
import { checkpointStreams } from './checkpointTiers.ts';
import { canonicalTextHash, stateHash, type JsonValue } from './projection.ts';

/**
 * Replay's reading of stored snapshots (SnapshotTaken: states run to megabytes, most of a log's
 * bytes). Where the log offers the stored text (readStreamText), a snapshot's own hash is checked
 * on that text without parsing it: the adapters store `JSON.stringify` of the schema's output,
 * `{"projection":…,"version":…,"position":"…","session":…,"state":<state>,"stateHash":"<64 hex>"}`,
 * so when sha256 of the text between `"state":` and `,"stateHash"` is the stored hash, that text is
 * the canonical text the hash was made of (collision resistance), hence one JSON value, the
 * state's. A state stored with its keys in another order (most projections build their snapshot
 * objects unsorted) hashes differently, and is then parsed and hashed canonically, as before.
 */

/** What replay needs of a stored snapshot besides its state. */
export interface SnapshotHead {
  /** Position of the SnapshotTaken event. */
  event: Position;
  stream: string;
  revision: number;
  projection: string;
  version: number;
  /** The position whose state it claims to hold, as stored and as a bigint. */
  position: string;
  at: Position;
  session: number;
  stateHash: string;
}

export interface CheckedSnapshot extends SnapshotHead {
  /** Set when the stored state does not hash to `stateHash`: its hash (empty when the event is ambiguous) and what is wrong. */
  ownMismatch?: { computed: string; detail: string };
  /**
   * Checked on the stored text alone: its state text hashes to `stateHash`. That proves the text
   * canonical only together with a rebuilt state of that hash; when the rebuilt state differs,
   * `checkSnapshotPrecisely` says whether the stored state matches its own hash.
   */
  textChecked?: true;
}

const SNAPSHOT_VERSION = eventSchemas.SnapshotTaken.version;
// eslint-disable-next-line no-control-regex -- raw control characters are not JSON, so they must not match
const HEAD = /^\{"projection":("(?:[^"\\\x00-\x1f]|\\.)+"),"version":(0|[1-9][0-9]{0,14}),"position":"(0|[1-9][0-9]*)","session":(0|[1-9][0-9]{0,14}),"state":/;
const TAIL = /^,"stateHash":"([0-9a-f]{64})"\}$/;
const TAIL_LENGTH = ',"stateHash":"'.length + 64 + '"}'.length;

/**
 * The head and state text of a stored SnapshotTaken in the adapters' layout, undefined for any
 * other text. The fields are only as trustworthy as the text: they are taken from it before
 * anything proves it is one JSON object (the state's hash does, see above).
 */
export function snapshotTextParts(event: RecordedEventText): { head: SnapshotHead; stateText: string } | undefined {
  if (event.type !== 'SnapshotTaken' || event.metadata.schemaVersion !== SNAPSHOT_VERSION) return undefined;
  const text = event.data;
  const head = HEAD.exec(text);
  if (head === null || text.length <= head[0].length + TAIL_LENGTH) return undefined;
  const tail = TAIL.exec(text.slice(text.length - TAIL_LENGTH));
  if (tail === null) return undefined;
  let projection: unknown;
  try {
    projection = JSON.parse(head[1]!);
  } catch {
    return undefined;
  }
  if (typeof projection !== 'string' || projection.length === 0) return undefined;
  return {
    head: { event: event.position, stream: event.stream, revision: event.revision, projection, version: Number(head[2]), position: head[3]!, at: BigInt(head[3]!), session: Number(head[4]), stateHash: tail[1]! },
    stateText: text.slice(head[0].length, text.length - TAIL_LENGTH),
  };
}

/** A stored event's data text decoded and checked as the schema decorator reads it (same errors). */
function decodeChecked(event: RecordedEventText): RecordedEvent {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch (error) {
    throw new CorruptEventError(event.position, `data is not JSON (${(error as Error).message})`);
  }
  const read = upcastAndValidate(event.type, event.metadata.schemaVersion, data);
  if (!read.ok) throw new CorruptEventError(event.position, `${event.stream}@${event.revision}: ${read.reason}`);
  return { ...event, data: read.data };
}

function headOf(event: RecordedEvent & { data: SnapshotTaken }): SnapshotHead {
  const data = event.data;
  return { event: event.position, stream: event.stream, revision: event.revision, projection: data.projection, version: data.version, position: data.position, at: BigInt(data.position), session: data.session, stateHash: data.stateHash };
}

/** `head` with its own hash checked against the stored state, parsed. */
function withOwnHash(head: SnapshotHead, state: JsonValue): CheckedSnapshot {
  const own = stateHash(state);
  return own === head.stateHash ? head : { ...head, ownMismatch: { computed: own, detail: 'stored state does not match its own state hash' } };
}

const sameHead = (a: SnapshotHead, b: SnapshotHead) =>
  a.projection === b.projection && a.version === b.version && a.position === b.position && a.session === b.session && a.stateHash === b.stateHash;

/** A stored snapshot read one way or the other: its text parts when they hash right, else the decoded event. */
type Read = { kind: 'text'; head: SnapshotHead; stateText: string } | { kind: 'decoded'; event: RecordedEvent & { data: SnapshotTaken } } | { kind: 'other' };

/** A stored event's text as a snapshot: its parts when they have the layout (and, with `verify`, hash right), else decoded. */
function readText(event: RecordedEventText, options: { verify: boolean }): Read {
  const parts = snapshotTextParts(event);
  if (parts !== undefined && (!options.verify || canonicalTextHash(parts.stateText) === parts.head.stateHash)) return { kind: 'text', ...parts };
  if (parts !== undefined) {
    // The layout holds, the text is not canonical: only the state is parsed. A state text that
    // parses is one JSON value, so the event is the head's fields and that value, which the
    // schema accepts as it stands (its compiled check would walk the whole state to say so); a
    // number beyond a double's range, the one exception, is refused by the canonical hashing.
    let state: unknown;
    try {
      state = JSON.parse(parts.stateText);
    } catch {
      state = undefined;
    }
    if (state !== undefined) {
      const { projection, version, position, session, stateHash: hash } = parts.head;
      return { kind: 'decoded', event: { ...event, type: 'SnapshotTaken', data: { projection, version, position, session, state: state as JsonValue, stateHash: hash } } };
    }
  }
  const decoded = decodeChecked(event);
  return isEvent(decoded, 'SnapshotTaken') ? { kind: 'decoded', event: decoded } : { kind: 'other' };
}

async function readOne(
  log: EventLog,
  stream: string,
  revision: number | undefined,
  options: { verify: boolean; keep?: (event: RecordedEventText) => void },
): Promise<{ read: Read; position: Position; revision: number } | undefined> {
  const at = { direction: 'backwards' as const, maxCount: 1, ...(revision === undefined ? {} : { fromRevision: revision }) };
  if (log.readStreamText !== undefined) {
    const [event] = await log.readStreamText(stream, at);
    if (event === undefined) return undefined;
    options.keep?.(event);
    return { read: readText(event, options), position: event.position, revision: event.revision };
  }
  const [event] = await log.readStream(stream, at);
  if (event === undefined) return undefined;
  return { read: isEvent(event, 'SnapshotTaken') ? { kind: 'decoded', event } : { kind: 'other' }, position: event.position, revision: event.revision };
}

/**
 * The heads of every SnapshotTaken in `projection`'s checkpoint streams (checkpointTiers.ts)
 * appended after `after`, newest first per stream, nothing checked but the layout (a head taken
 * from text that is not what it seems is found out by `checkSnapshot`, which every compared
 * snapshot goes through); a tier's copy of a snapshot also in `checkpoint-<name>` is compared
 * too, as any stored snapshot is. `keep` is handed each stored text read (the caller may keep it
 * for checkSnapshot, instead of reading it again).
 */
export async function snapshotHeads(log: EventLog, projection: string, after: Position, keep?: (event: RecordedEventText) => void): Promise<SnapshotHead[]> {
  const heads: SnapshotHead[] = [];
  for (const stream of await checkpointStreams(log, projection)) {
    let revision: number | undefined;
    for (;;) {
      const one = await readOne(log, stream, revision, { verify: false, ...(keep === undefined ? {} : { keep }) });
      if (one === undefined || one.position <= after) break;
      const head = one.read.kind === 'text' ? one.read.head : one.read.kind === 'decoded' ? headOf(one.read.event) : undefined;
      if (head !== undefined) heads.push(head);
      if (one.revision === 0) break;
      revision = one.revision - 1;
    }
  }
  return heads;
}

/**
 * The stored snapshot of `head` (from snapshotHeads) with its own hash checked, from `text` (its
 * stored text, kept by snapshotHeads) or read again. A head that the decoded event contradicts
 * (JSON with a repeated key reads differently as text) is reported as a mismatch of its own hash.
 */
export async function checkSnapshot(log: EventLog, head: SnapshotHead, text?: RecordedEventText): Promise<CheckedSnapshot> {
  const one = text === undefined ? await readOne(log, head.stream, head.revision, { verify: true }) : { read: readText(text, { verify: true }), position: text.position };
  if (one === undefined || one.position !== head.event || one.read.kind === 'other') return { ...head, ownMismatch: { computed: '', detail: 'stored snapshot could not be read again' } };
  const { read } = one;
  if (read.kind === 'text') {
    if (!sameHead(read.head, head)) return { ...head, ownMismatch: { computed: '', detail: 'stored snapshot reads differently on a second read' } };
    return { ...head, textChecked: true };
  }
  const decoded = headOf(read.event);
  if (!sameHead(decoded, head)) return { ...head, ownMismatch: { computed: '', detail: 'stored snapshot is ambiguous: its JSON repeats a field' } };
  return withOwnHash(head, read.event.data.state as JsonValue);
}

/** Its own hash checked on the parsed state, whatever the text looks like: for a snapshot checked on its text whose rebuilt state differs (see `textChecked`). */
export async function checkSnapshotPrecisely(log: EventLog, head: SnapshotHead): Promise<CheckedSnapshot> {
  const [event] = await log.readStream(head.stream, { fromRevision: head.revision, maxCount: 1 });
  if (event === undefined || event.position !== head.event || !isEvent(event, 'SnapshotTaken')) return { ...head, ownMismatch: { computed: '', detail: 'stored snapshot could not be read again' } };
  if (!sameHead(headOf(event), head)) return { ...head, ownMismatch: { computed: '', detail: 'stored snapshot is ambiguous: its JSON repeats a field' } };
  return withOwnHash(head, event.data.state as JsonValue);
}

/**
 * The stored state of the snapshot of `head`, parsed and nothing checked (undefined when the event
 * there is not that snapshot). From the stored text when it has the usual layout: a state text
 * that parses is one JSON value, so it is exactly the `state` of the event that checkSnapshot checks.
 */
export async function snapshotState(log: EventLog, head: SnapshotHead): Promise<JsonValue | undefined> {
  const at = { fromRevision: head.revision, maxCount: 1 };
  if (log.readStreamText !== undefined) {
    const [event] = await log.readStreamText(head.stream, at);
    if (event === undefined || event.position !== head.event) return undefined;
    const parts = snapshotTextParts(event);
    if (parts !== undefined) return sameHead(parts.head, head) ? (JSON.parse(parts.stateText) as JsonValue) : undefined;
    const decoded = decodeChecked(event);
    return isEvent(decoded, 'SnapshotTaken') && sameHead(headOf(decoded), head) ? (decoded.data.state as JsonValue) : undefined;
  }
  const [event] = await log.readStream(head.stream, at);
  return event !== undefined && event.position === head.event && isEvent(event, 'SnapshotTaken') && sameHead(headOf(event), head) ? (event.data.state as JsonValue) : undefined;
}
