import type { EventLog, Position, ReadStreamOptions, RecordedEvent } from '../streams/eventLog.ts';
import { isEvent, streams } from '../streams/events.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { decodeSnapshot, type LoadedSnapshot, type SnapshotSkip } from './checkpointStore.ts';
import { checkpointStreams, keptCheckpoints, keptLocation } from './checkpointTiers.ts';
import { canonicalTextHash, foldInto, type JsonValue, type Projection } from './projection.ts';
import { snapshotTextParts } from './storedSnapshots.ts';

/**
 * A projection as it stood at the end of any completed session (issue 18): the nearest kept
 * snapshot at or before it, from any of the projection's checkpoint streams, then a fold of the
 * log from there to that session's SessionCompleted.
 */

export interface AsOfState<S> {
  state: S;
  /** The snapshot the fold started from, if any (else it started at position 0). */
  fromSnapshot?: { session: number; position: Position };
  /** Events folded after that snapshot. */
  folded: number;
}

/** What the search needs of a stored snapshot, read without parsing its state where the log allows. */
interface Head {
  stream: string;
  revision: number;
  projection: string;
  version: number;
  session: number;
}

/** Events folded per page on the way to the session: from the first size, doubling up to the last. */
const FIRST_FOLD_PAGE = 64;
const FOLD_PAGE = 4096;

/** The head of the event at `revision` of `stream` (the newest or oldest kept without one), undefined past the stream's ends. */
async function headAt(log: EventLog, stream: string, options: ReadStreamOptions): Promise<Head | undefined> {
  const read = { ...options, maxCount: 1 };
  if (log.readStreamText !== undefined) {
    const [event] = await log.readStreamText(stream, read);
    if (event === undefined) return undefined;
    const parts = snapshotTextParts(event);
    if (parts !== undefined) return { stream, revision: event.revision, projection: parts.head.projection, version: parts.head.version, session: parts.head.session };
  }
  const [event] = await log.readStream(stream, read);
  if (event === undefined) return undefined;
  // Not a snapshot: a head no projection accepts, so the search goes on past it.
  if (!isEvent(event, 'SnapshotTaken')) return { stream, revision: event.revision, projection: '', version: -1, session: Number.MAX_SAFE_INTEGER };
  return { stream, revision: event.revision, projection: event.data.projection, version: event.data.version, session: event.data.session };
}

/**
 * The newest snapshot of `stream` at or before `session` that `accept`s, if it is after session
 * `after` (what another stream already offers). Sessions grow with revisions, so it is found by a
 * binary search over the kept revisions, one head read per step, after the stream's newest and
 * oldest heads have shown whether the stream can offer one at all.
 */
async function newestAtOrBefore(log: EventLog, stream: string, session: number, accept: (head: Head) => boolean, after: number): Promise<Head | undefined> {
  const newest = await headAt(log, stream, { direction: 'backwards' });
  if (newest === undefined || newest.session <= after) return undefined;
  let found = newest;
  if (newest.session > session) {
    const oldest = (await headAt(log, stream, { direction: 'forwards' }))!;
    if (oldest.session > session) return undefined;
    // Invariant: `found` (at or before revision lo) is at or before `session`; every head after revision hi is after it.
    found = oldest;
    let lo = oldest.revision;
    let hi = newest.revision;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const head = (await headAt(log, stream, { direction: 'backwards', fromRevision: mid }))!;
      if (head.session <= session) [lo, found] = [mid, head];
      else hi = mid;
    }
  }
  // Older ones while the found one is not usable (another version, say).
  for (let head: Head | undefined = found; head !== undefined && head.session > after; ) {
    if (head.session <= session && accept(head)) return head;
    head = head.revision === 0 ? undefined : await headAt(log, stream, { direction: 'backwards', fromRevision: head.revision - 1 });
  }
  return undefined;
}

/**
 * The nearest snapshot at or before `session` by checkpoint numbers: the kept ones are
 * keptCheckpoints(n, K) (n and K read off checkpoint-<name>), each at a known stream and revision,
 * and sessions grow with numbers, so a binary search over them reads a handful of heads; null when
 * every kept one is after `session`. Undefined when the answer is in checkpoint-<name> itself, or
 * the streams are not laid out as the rule says (e.g. snapshots kept before the rule was): the
 * search over every stream decides then.
 */
async function nearestByNumber(log: EventLog, projection: string, session: number, accept: (head: Head) => boolean): Promise<Head | null | undefined> {
  const main = streams.checkpoint(projection);
  const newest = await headAt(log, main, { direction: 'backwards' });
  const oldest = await headAt(log, main, { direction: 'forwards' });
  if (newest === undefined || oldest === undefined || oldest.session <= session) return undefined;
  const count = newest.revision + 1;
  const keepNewest = newest.revision - oldest.revision + 1;
  const moved = keptCheckpoints(count, keepNewest).filter((ordinal) => ordinal <= count - keepNewest);
  // Invariant: `found` (moved[lo]) is at or before `session`; moved[hi] and after are after it.
  let found: Head | undefined;
  let lo = -1;
  let hi = moved.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const at = keptLocation(projection, moved[mid]!, count, keepNewest);
    const head = await headAt(log, at.stream, { direction: 'backwards', fromRevision: at.revision });
    if (head?.revision !== at.revision) return undefined;
    if (head.session <= session) [lo, found] = [mid, head];
    else hi = mid;
  }
  if (found === undefined) return null;
  return accept(found) ? found : undefined;
}

/** The nearest snapshot at or before `session` among every checkpoint stream of `projection` that `accept`s. */
async function nearestHead(log: EventLog, projection: string, session: number, accept: (head: Head) => boolean): Promise<Head | undefined> {
  const byNumber = await nearestByNumber(log, projection, session, accept);
  if (byNumber !== undefined) return byNumber ?? undefined;
  let best: Head | undefined;
  for (const stream of await checkpointStreams(log, projection)) {
    const head = await newestAtOrBefore(log, stream, session, accept, best?.session ?? -1);
    if (head !== undefined && (best === undefined || head.session > best.session)) best = head;
    // `checkpoint-<name>` holds the newest checkpoints in a row: one of them at or before `session` is the nearest of all.
    if (stream === streams.checkpoint(projection) && best !== undefined) return best;
  }
  return best;
}

/** The newest usable snapshot at or before `session` (same version, hash and state good), from any checkpoint stream. */
export async function loadSnapshotAtOrBefore<S>(log: EventLog, projection: Projection<S>, session: number, onSkip: (skip: SnapshotSkip) => void = () => {}): Promise<LoadedSnapshot<S> | undefined> {
  const refused = new Set<string>();
  const accept = (head: Head) => head.projection === projection.name && head.version === projection.version && !refused.has(`${head.stream}@${head.revision}`);
  for (;;) {
    const head = await nearestHead(log, projection.name, session, accept);
    if (head === undefined) return undefined;
    const loaded = (await loadFromText(log, projection, head)) ?? (await loadDecoded(log, projection, head));
    if (!('reason' in loaded)) return loaded;
    onSkip({ session: head.session, reason: loaded.reason });
    refused.add(`${head.stream}@${head.revision}`);
  }
}

/**
 * The snapshot at `head` from its stored text, when the text is canonical: its state text hashing
 * to the stored hash proves it the canonical JSON the hash was made of (storedSnapshots.ts), so it
 * is parsed once, without the schema's walk of the state or a canonical re-serialization to hash.
 * Undefined when the log stores no text or the text is not in that form.
 */
async function loadFromText<S>(log: EventLog, projection: Projection<S>, head: Head): Promise<LoadedSnapshot<S> | { reason: string } | undefined> {
  if (log.readStreamText === undefined) return undefined;
  const [event] = await log.readStreamText(head.stream, { fromRevision: head.revision, maxCount: 1 });
  const parts = event?.revision === head.revision ? snapshotTextParts(event) : undefined;
  if (parts === undefined || parts.head.projection !== projection.name || parts.head.version !== projection.version) return undefined;
  if (canonicalTextHash(parts.stateText) !== parts.head.stateHash) return undefined;
  try {
    return { state: projection.fromSnapshot(JSON.parse(parts.stateText) as JsonValue), position: parts.head.at, session: parts.head.session, stateHash: parts.head.stateHash };
  } catch (error) {
    return { reason: `state does not decode: ${(error as Error).message}` };
  }
}

/** The snapshot at `head` read as an event and checked by decodeSnapshot. */
async function loadDecoded<S>(log: EventLog, projection: Projection<S>, head: Head): Promise<LoadedSnapshot<S> | { reason: string }> {
  const [event] = await log.readStream(head.stream, { fromRevision: head.revision, maxCount: 1 });
  return event !== undefined && event.revision === head.revision && isEvent(event, 'SnapshotTaken') ? decodeSnapshot(projection, event.data) : { reason: 'the snapshot could not be read again' };
}

/**
 * `projection` as it stood once session `session` completed (its SessionCompleted folded): the
 * nearest usable snapshot at or before it, then a fold of the log from there. Undefined when the
 * session has not completed.
 */
export async function stateAtSession<S>(log: EventLog, projection: Projection<S>, session: number, onSkip?: (skip: SnapshotSkip) => void): Promise<AsOfState<S> | undefined> {
  const snapshot = await loadSnapshotAtOrBefore(log, projection, session, onSkip);
  const from = snapshot === undefined ? {} : { fromSnapshot: { session: snapshot.session, position: snapshot.position } };
  if (snapshot?.session === session) return { state: snapshot.state, ...from, folded: 0 };
  const cursor = { projection, state: snapshot?.state ?? projection.initial, position: snapshot?.position ?? 0n };
  const target = streams.session(session);
  let folded = 0;
  // Pages grow from small: a page is read (and every snapshot in it decoded) whole, and the
  // session is usually a few sessions past the snapshot, not a whole page of the log.
  for (let size = FIRST_FOLD_PAGE; ; size = Math.min(2 * size, FOLD_PAGE)) {
    const page = await firstPage(log, cursor.position, size);
    if (page === undefined) return undefined;
    const end = page.findIndex((event) => event.stream === target && isEvent(event, 'SessionCompleted'));
    const part = end < 0 ? page : page.slice(0, end + 1);
    const failed = foldInto(cursor, part);
    if (failed !== undefined) throw failed;
    folded += part.length;
    if (end >= 0) return { state: cursor.state as S, ...from, folded };
  }
}

/** The first page of at most `size` events after `after`, undefined at the end of the log. */
async function firstPage(log: EventLog, after: Position, size: number): Promise<RecordedEvent[] | undefined> {
  for await (const page of log.readAllPages?.(after, size) ?? pagesOf(log.readAll(after), size)) return page;
  return undefined;
}
