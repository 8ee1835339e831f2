import type { EventLog, Position, ReadStreamOptions } from '../streams/eventLog.ts';
import { isEvent, streams } from '../streams/events.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { decodeSnapshot, type LoadedSnapshot, type SnapshotSkip } from './checkpointStore.ts';
import { checkpointStreams } from './checkpointTiers.ts';
import { foldInto, type Projection } from './projection.ts';
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

/** Events folded per page on the way to the session. */
const FOLD_PAGE = 1024;

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

/** The newest snapshot of `stream` at or before `session` that `accept`s, newest first; the stream's oldest is read first to skip a stream entirely newer. */
async function newestAtOrBefore(log: EventLog, stream: string, session: number, accept: (head: Head) => boolean): Promise<Head | undefined> {
  const oldest = await headAt(log, stream, { direction: 'forwards' });
  if (oldest === undefined || oldest.session > session) return undefined;
  let revision: number | undefined;
  for (;;) {
    const head = await headAt(log, stream, { direction: 'backwards', ...(revision === undefined ? {} : { fromRevision: revision }) });
    if (head === undefined) return undefined;
    if (head.session <= session && accept(head)) return head;
    if (head.revision <= oldest.revision) return undefined;
    revision = head.revision - 1;
  }
}

/** The nearest snapshot at or before `session` among every checkpoint stream of `projection` that `accept`s. */
async function nearestHead(log: EventLog, projection: string, session: number, accept: (head: Head) => boolean): Promise<Head | undefined> {
  let best: Head | undefined;
  for (const stream of await checkpointStreams(log, projection)) {
    const head = await newestAtOrBefore(log, stream, session, accept);
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
    const [event] = await log.readStream(head.stream, { fromRevision: head.revision, maxCount: 1 });
    const loaded = event !== undefined && event.revision === head.revision && isEvent(event, 'SnapshotTaken') ? decodeSnapshot(projection, event.data) : { reason: 'the snapshot could not be read again' };
    if (!('reason' in loaded)) return loaded;
    onSkip({ session: head.session, reason: loaded.reason });
    refused.add(`${head.stream}@${head.revision}`);
  }
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
  for await (const page of log.readAllPages?.(cursor.position, FOLD_PAGE) ?? pagesOf(log.readAll(cursor.position), FOLD_PAGE)) {
    const end = page.findIndex((event) => event.stream === target && isEvent(event, 'SessionCompleted'));
    const part = end < 0 ? page : page.slice(0, end + 1);
    const failed = foldInto(cursor, part);
    if (failed !== undefined) throw failed;
    folded += part.length;
    if (end >= 0) return { state: cursor.state as S, ...from, folded };
  }
  return undefined;
}
