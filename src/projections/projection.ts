import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../domain/canonicalJson.ts';
import type { JsonValue } from '../domain/module.ts';
import type { Position, RecordedEvent } from '../streams/eventLog.ts';

export type { JsonValue };
export { canonicalJson };

/**
 * A read model of the log (DESIGN.md, "Projections"): a pure left fold over the recorded events.
 * `version` names the shape of the state: bump it whenever `evolve` or the snapshot format changes,
 * so snapshots taken by older code are ignored and the projection is rebuilt from the log.
 */
export interface Projection<S> {
  readonly name: string;
  readonly version: number;
  readonly initial: S;
  /**
   * Pure: never mutates `state` (except in the fold `newestOnly` gives). Events come from the
   * schema-checked log; unknown types are ignored.
   */
  evolve(state: S, event: RecordedEvent): S;
  /**
   * Optional: the fold of `events` (ascending positions) over `state`, equal to calling `evolve` for
   * each in turn. The states between two events are never observed, so an implementation may update
   * in place what it created within this call (transient structures); `state` itself and the result
   * stay immutable. Replay and the projection host call it with whole pages of events.
   */
  evolveBatch?(state: S, events: readonly RecordedEvent[]): S;
  /** Deterministic: equal states give equal JSON, whatever path (events or snapshots) built them. */
  toSnapshot(state: S): JsonValue;
  /** Inverse of toSnapshot; throws on malformed JSON (the caller then ignores that snapshot). */
  fromSnapshot(json: JsonValue): S;
  /**
   * Optional shortcut for `stateHash(toSnapshot(state))`, same result without building the snapshot
   * objects (replay hashes every rebuilt state; large maps cost more to build than to hash).
   */
  stateHash?(state: S): string;
  /**
   * Optional: the same projection for a reader of only the newest state (replay, which hashes a
   * state once the fold reaches a stored snapshot's position). Its `evolve` and `evolveBatch` may
   * change the state they are given in place, so no state may be read once a later one exists; the
   * states it gives snapshot and hash exactly as this projection's. Each call gives a fold of its own.
   */
  newestOnly?(): Projection<S>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProjection = Projection<any>;

/**
 * sha256 hex of the canonical JSON (sorted keys, no whitespace; the domain's `canonicalJson`) of a
 * snapshot: what checkpoints and replay compare. Built with JSON.stringify and a replacer that
 * re-creates each object with sorted keys, which gives the same text as `canonicalJson` (tested)
 * several times faster: snapshots of the ledger run to megabytes and replay hashes every one.
 */
export function stateHash(json: JsonValue): string {
  return createHash('sha256').update(canonicalText(json), 'utf8').digest('hex');
}

/**
 * Snapshot objects that are never changed once built and are part of more than one projection's
 * snapshot (the ledger's, inside the audit's): their canonical text is computed once.
 */
const sharedTexts = new WeakMap<object, string | undefined>();

/** Marks `json` as immutable and shared (see sharedTexts); returns it. */
export function sharedSnapshotPart<T extends JsonValue & object>(json: T): T {
  if (!sharedTexts.has(json)) sharedTexts.set(json, undefined);
  return json;
}

function canonicalText(json: JsonValue): string {
  if (json === null || typeof json !== 'object') return fastCanonicalJson(json);
  if (sharedTexts.has(json)) {
    let text = sharedTexts.get(json);
    if (text === undefined) {
      text = fastCanonicalJson(json);
      sharedTexts.set(json, text);
    }
    return text;
  }
  if (Array.isArray(json) || typeof (json as { toJSON?: unknown }).toJSON === 'function') return fastCanonicalJson(json);
  const keys = Object.keys(json);
  if (!keys.some((key) => { const child = json[key]; return typeof child === 'object' && child !== null && sharedTexts.has(child); })) return fastCanonicalJson(json);
  // An object with a shared part: its members in the order the sorted copy would serialise them.
  const order = Object.create(null) as Record<string, true>;
  for (const key of keys.sort()) order[key] = true;
  const members: string[] = [];
  for (const key of Object.keys(order)) {
    const child: unknown = json[key];
    // JSON.stringify leaves such members out of an object.
    if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
    members.push(`${JSON.stringify(key)}:${canonicalText(child as JsonValue)}`);
  }
  return `{${members.join(',')}}`;
}

export function fastCanonicalJson(json: JsonValue): string {
  let sorted: unknown;
  try {
    sorted = withSortedKeys(json);
  } catch (error) {
    // Something the walk does not handle as JSON.stringify would (toJSON, or nesting deeper than
    // the stack): the replacer gives the reference text.
    if (error === UNUSUAL || (error instanceof RangeError && error.message.includes('call stack'))) return JSON.stringify(json, sortKeys);
    throw error;
  }
  return JSON.stringify(sorted);
}

const UNUSUAL = Symbol('not plain JSON');

/**
 * `value` with every object's keys in code-unit order, as `sortKeys` re-creates them, but
 * sharing every subtree that is already in order (snapshots build their large maps sorted, and
 * stored snapshots come back in the order they were written): no copy of a 40,000-key object, and
 * JSON.stringify then runs without a replacer, which costs a call into JS for every value.
 */
function withSortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('canonical JSON has no NaN or Infinity');
    return value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw UNUSUAL;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // Strings and numbers inline: snapshots hold arrays of tens of thousands of txids.
      if (typeof item === 'string' || (typeof item === 'number' && Number.isFinite(item))) continue;
      const sorted = withSortedKeys(item);
      if (sorted !== item) {
        copy ??= value.slice();
        copy[i] = sorted;
      }
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      inOrder = false;
      break;
    }
  }
  let changed: Map<string, unknown> | undefined;
  for (const key of keys) {
    const item = record[key];
    if (typeof item === 'string' || (typeof item === 'number' && Number.isFinite(item))) continue;
    const sorted = withSortedKeys(item);
    if (sorted !== item) (changed ??= new Map()).set(key, sorted);
  }
  // Object.keys order is JSON.stringify's order: when it is already sorted, the object serialises as its sorted copy would.
  if (inOrder && changed === undefined) return record;
  if (!inOrder) keys.sort();
  // No prototype: a key named __proto__ stays an ordinary property, as it is in JSON.
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of keys) copy[key] = changed?.has(key) === true ? changed.get(key) : record[key];
  return copy;
}

/** The reference: a JSON.stringify replacer re-creating each object with sorted keys. */
function sortKeys(this: unknown, _key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('canonical JSON has no NaN or Infinity');
    return value;
  }
  const record = value as Record<string, unknown>;
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(record).sort()) sorted[key] = record[key];
  return sorted;
}

/** `evolveBatch` when the projection has one, else `evolve` over each event. */
export function evolveAll<S>(projection: Projection<S>, state: S, events: readonly RecordedEvent[]): S {
  if (projection.evolveBatch !== undefined) return projection.evolveBatch(state, events);
  let next = state;
  for (const event of events) next = projection.evolve(next, event);
  return next;
}

/**
 * A projection threw while folding a page, located at the event that threw: `state` and `reached`
 * are the state and position after the events before it.
 */
export class PageFoldError<S = unknown> extends Error {
  constructor(
    readonly position: Position,
    override readonly cause: unknown,
    readonly state: S,
    readonly reached: Position,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'PageFoldError';
  }
}

/**
 * What an evolveBatch throws when it knows the event that failed and cannot be folded again one
 * event at a time (replay's in-place ledger: its states share maps changed in place, which it
 * restores when the batch fails, see withRollback): foldPage reports it as a PageFoldError at that
 * event, with the state before the batch.
 */
export class EventFoldError extends Error {
  constructor(
    readonly position: Position,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'EventFoldError';
  }
}

/**
 * Folds the events of `page` (ascending positions) that come after `after` into `state`: one
 * evolveAll call, and when that throws, the same events again one at a time from `state` (which
 * evolveBatch never changes), so the failure is a PageFoldError at its event. Undefined when the
 * page holds nothing after `after`. Projections starting at the same place get the same array.
 * An EventFoldError is reported at its event as it is, from `state` and `after`.
 */
export function foldPage<S>(projection: Projection<S>, state: S, after: Position, page: readonly RecordedEvent[]): { state: S; position: Position } | undefined {
  const last = page[page.length - 1];
  if (last === undefined || last.position <= after) return undefined;
  let start = 0;
  while (page[start]!.position <= after) start++;
  const events = start === 0 ? page : page.slice(start);
  try {
    return { state: evolveAll(projection, state, events), position: last.position };
  } catch (error) {
    if (error instanceof EventFoldError) throw new PageFoldError(error.position, error.cause, state, after);
    let reached = state;
    let position = after;
    for (const event of events) {
      try {
        reached = projection.evolve(reached, event);
      } catch (error) {
        throw new PageFoldError(event.position, error, reached, position);
      }
      position = event.position;
    }
    // Only evolveBatch threw: the event-by-event fold is the reference, and it got through.
    return { state: reached, position };
  }
}

/** Where one projection's fold stands: its state and the position of the last event folded. */
export interface FoldCursor {
  projection: AnyProjection;
  state: unknown;
  position: Position;
}

/**
 * Folds `page` into `cursor` (foldPage) and moves it on. When an event fails, the cursor is left
 * at the state before that event, which the failure is returned with for the caller to report.
 */
export function foldInto(cursor: FoldCursor, page: readonly RecordedEvent[]): PageFoldError | undefined {
  try {
    const folded = foldPage(cursor.projection, cursor.state, cursor.position, page);
    if (folded !== undefined) {
      cursor.state = folded.state;
      cursor.position = folded.position;
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof PageFoldError)) throw error;
    cursor.state = error.state;
    cursor.position = error.reached;
    return error;
  }
}

/** The hash of a projection's state, through its snapshot form. */
export function projectionStateHash<S>(projection: Projection<S>, state: S): string {
  return projection.stateHash === undefined ? stateHash(projection.toSnapshot(state)) : projection.stateHash(state);
}

/** sha256 hex of canonical JSON text already built (what `stateHash` hashes). */
export function canonicalTextHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Canonical JSON written straight into bytes and hashed: for projections whose state hash would
 * otherwise build a large snapshot (or a large string) only to hash it. The caller writes the
 * members in canonical order (keys sorted); the writer makes each string and number exactly as
 * JSON.stringify would.
 */
export interface CanonicalHashWriter {
  /** Text written as is: punctuation and keys the caller knows are canonical JSON in ASCII. */
  raw(text: string): void;
  /** A JSON string literal. */
  string(value: string): void;
  /**
   * A JSON string literal of a string the caller knows needs no escaping: hex digits the event and
   * snapshot schemas have checked (txids, encoded items). Written unchecked, the hot path of hashing.
   */
  hex(value: string): void;
  /** A finite number, as JSON.stringify writes it; NaN and infinities throw, as in stateHash. */
  number(value: number): void;
  /** sha256 hex of everything written, as stateHash of the same JSON gives. */
  digest(): string;
  /** Feeds everything written to `hash` (to continue a hash of the text before it). */
  writeTo(hash: Hash): void;
}

export function canonicalHashWriter(expectedBytes = 1 << 16): CanonicalHashWriter {
  return new BufferHashWriter(expectedBytes);
}

// A class for its shared prototype: the methods are called once per value of a large state, and
// one set of functions keeps those calls monomorphic and inlined.
class BufferHashWriter implements CanonicalHashWriter {
  private bytes: Buffer;
  private length = 0;

  constructor(expectedBytes: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, expectedBytes));
  }

  raw(text: string): void {
    const n = text.length;
    this.room(n * 3);
    if (n > 16) {
      this.length += this.bytes.write(text, this.length, 'utf8');
      return;
    }
    // Short ASCII (punctuation, keys) byte by byte: cheaper than a call into Buffer.write.
    const out = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) {
        this.length += out.write(text, this.length, 'utf8');
        return;
      }
      out[at++] = c;
    }
    this.length = at;
  }

  string(value: string): void {
    const n = value.length;
    this.room(n + 2);
    const out = this.bytes;
    let at = this.length;
    out[at++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      // Printable ASCII other than quote and backslash is its own JSON text; anything else takes JSON.stringify's escaping.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.raw(JSON.stringify(value));
        return;
      }
      out[at++] = c;
    }
    out[at++] = 0x22;
    this.length = at;
  }

  hex(value: string): void {
    const n = value.length;
    this.room(n + 2);
    const out = this.bytes;
    const at = this.length;
    out[at] = 0x22;
    // One native copy: a JS loop costs twice as much for a 64-digit txid.
    out.write(value, at + 1, n, 'latin1');
    out[at + n + 1] = 0x22;
    this.length = at + n + 2;
  }

  number(value: number): void {
    // Small non-negative integers (sessions, indexes, peers) digit by digit; -0 is written 0, as JSON does.
    if (value >= 0 && value < 1e9 && Math.floor(value) === value) {
      this.room(10);
      const out = this.bytes;
      if (value < 10) {
        out[this.length++] = 0x30 + value;
        return;
      }
      let digits = 0;
      for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
      let at = this.length + digits;
      this.length = at;
      for (let v = value; v > 0; v = Math.floor(v / 10)) out[--at] = 0x30 + (v % 10);
      return;
    }
    if (!Number.isFinite(value)) throw new RangeError('canonical JSON has no NaN or Infinity');
    // String(n) is JSON's text for every other finite number.
    this.raw(String(value));
  }

  digest(): string {
    return createHash('sha256').update(this.bytes.subarray(0, this.length)).digest('hex');
  }

  writeTo(hash: Hash): void {
    hash.update(this.bytes.subarray(0, this.length));
  }

  private room(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + more));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}
