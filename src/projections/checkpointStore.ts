import { createHash } from 'node:crypto';
import type { EventLog, Position } from '../streams/eventLog.ts';
import { isEvent, newEvent, streams, type SnapshotTaken } from '../streams/events.ts';
import { stateHash, type JsonValue, type Projection } from './projection.ts';

/**
 * Checkpoints (DESIGN.md): `SnapshotTaken` events in `checkpoint-<projection>`, one per projection
 * per completed session. The log is append-only and the EventLog port has no delete, so retention
 * cannot drop old snapshots from the store; it is applied on read instead: only the newest
 * `retention` events of a checkpoint stream are ever considered, older ones are dead weight that a
 * store-level scavenge (e.g. EventStoreDB's $maxCount stream metadata) could reclaim.
 */

export interface LoadedSnapshot<S> {
  state: S;
  position: Position;
  session: number;
  stateHash: string;
}

export interface CheckpointRef {
  session: number;
  position: Position;
}

export interface SnapshotSkip {
  session: number;
  reason: string;
}

/**
 * The newest usable snapshot of `projection` among the newest `retention` in its stream: same
 * version, a state that decodes, and a stored hash that matches the state. Anything else is skipped
 * (reported through `onSkip`) so that the projection is rebuilt from the log rather than trusted.
 */
export async function loadNewestSnapshot<S>(
  log: EventLog,
  projection: Projection<S>,
  retention: number,
  onSkip: (skip: SnapshotSkip) => void = () => {},
): Promise<LoadedSnapshot<S> | undefined> {
  if (retention <= 0) return undefined;
  const newest = await log.readStream(streams.checkpoint(projection.name), { direction: 'backwards', maxCount: retention });
  for (const event of newest) {
    if (!isEvent(event, 'SnapshotTaken')) continue;
    const loaded = decodeSnapshot(projection, event.data);
    if ('reason' in loaded) onSkip({ session: event.data.session, reason: loaded.reason });
    else return loaded;
  }
  return undefined;
}

/** Every SnapshotTaken of `projection` (all versions), oldest first: what replay compares against. */
export async function readSnapshots(log: EventLog, projectionName: string): Promise<SnapshotTaken[]> {
  const events = await log.readStream(streams.checkpoint(projectionName));
  return events.filter((e) => isEvent(e, 'SnapshotTaken')).map((e) => e.data as SnapshotTaken);
}

export function decodeSnapshot<S>(projection: Projection<S>, data: SnapshotTaken): LoadedSnapshot<S> | { reason: string } {
  if (data.projection !== projection.name) return { reason: `snapshot of ${data.projection} in the stream of ${projection.name}` };
  if (data.version !== projection.version) return { reason: `version ${data.version}, this code is version ${projection.version}` };
  const computed = stateHash(data.state as JsonValue);
  if (computed !== data.stateHash) return { reason: `stored state hash ${data.stateHash} does not match its state (${computed})` };
  try {
    return { state: projection.fromSnapshot(data.state as JsonValue), position: BigInt(data.position), session: data.session, stateHash: data.stateHash };
  } catch (error) {
    return { reason: `state does not decode: ${(error as Error).message}` };
  }
}

/**
 * Appends one snapshot. The event id is derived from (projection, version, session), so a guardian
 * that crashed after checkpointing and checkpoints the same session again appends nothing.
 */
export async function appendSnapshot<S>(log: EventLog, projection: Projection<S>, state: S, position: Position, session: number): Promise<CheckpointRef & { stateHash: string }> {
  const json = projection.toSnapshot(state);
  const hash = stateHash(json);
  const data: SnapshotTaken = { projection: projection.name, version: projection.version, position: position.toString(), session, state: json, stateHash: hash };
  await log.append(streams.checkpoint(projection.name), [newEvent('SnapshotTaken', data, snapshotEventId(projection.name, projection.version, session))]);
  return { session, position, stateHash: hash };
}

/** A UUID-shaped id (EventStoreDB requires UUIDs) that is a pure function of its inputs. */
export function snapshotEventId(projection: string, version: number, session: number): string {
  const hex = createHash('sha256').update(`fedlog checkpoint ${projection} v${version} session ${session}`).digest('hex');
  // Version nibble 8 and variant bits 10xx: an RFC 9562 "custom" (v8) UUID.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Which checkpointed sessions to keep (issue 18): the newest `keepNewest`, then older ones at a
 * spacing that doubles with age (a session `age` behind the newest is kept when it is a multiple of
 * the largest power of two at most age / keepNewest). So about keepNewest * log2(sessions) snapshots
 * are kept, and a session `age` old is less than 2 * age / keepNewest sessions past a kept one: an
 * as-of query's fold grows with how far back it asks, not with the length of the log.
 */
export function retainedSessions(sessions: readonly number[], keepNewest = 4): number[] {
  if (sessions.length === 0) return [];
  const newest = Math.max(...sessions);
  return sessions.filter((session) => {
    const age = newest - session;
    if (age < keepNewest) return true;
    const spacing = 2 ** Math.floor(Math.log2(age / keepNewest));
    return session % spacing === 0;
  });
}

/** The newest usable snapshot of `projection` taken at or before the end of `session`. */
export async function loadSnapshotAtOrBefore<S>(log: EventLog, projection: Projection<S>, session: number, onSkip: (skip: SnapshotSkip) => void = () => {}): Promise<LoadedSnapshot<S> | undefined> {
  const events = await log.readStream(streams.checkpoint(projection.name), { direction: 'backwards' });
  for (const event of events) {
    if (!isEvent(event, 'SnapshotTaken') || event.data.session > session) continue;
    const loaded = decodeSnapshot(projection, event.data);
    if ('reason' in loaded) onSkip({ session: event.data.session, reason: loaded.reason });
    else return loaded;
  }
  return undefined;
}

/**
 * `projection` as it stood once session `session` completed (its SessionCompleted folded): the
 * nearest snapshot at or before it, then a fold of the log from there. Undefined when the session
 * has not completed.
 */
export async function stateAtSession<S>(log: EventLog, projection: Projection<S>, session: number): Promise<{ state: S; fromSnapshot?: number; folded: number } | undefined> {
  const snapshot = await loadSnapshotAtOrBefore(log, projection, session);
  let state = snapshot?.state ?? projection.initial;
  if (snapshot?.session === session) return { state, fromSnapshot: session, folded: 0 };
  const target = streams.session(session);
  let folded = 0;
  for await (const event of log.readAll(snapshot?.position)) {
    state = projection.evolve(state, event);
    folded += 1;
    if (event.stream === target && isEvent(event, 'SessionCompleted')) return { state, ...(snapshot === undefined ? {} : { fromSnapshot: snapshot.session }), folded };
  }
  return undefined;
}
