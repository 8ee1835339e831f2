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
