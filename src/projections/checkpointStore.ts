import { createHash } from 'node:crypto';
import type { EventLog, Position } from '../streams/eventLog.ts';
import { isEvent, newEvent, streams, type SnapshotTaken } from '../streams/events.ts';
import { tierOf, tierStream } from './checkpointTiers.ts';
import { stateHash, type JsonValue, type Projection } from './projection.ts';

/**
 * Checkpoints (DESIGN.md): `SnapshotTaken` events in `checkpoint-<projection>`, one per projection
 * per checkpointed session, and in its tier streams: which are kept is checkpointTiers.ts's rule,
 * applied as they are appended (through EventLog.truncateStream, where the log has it). A start
 * loads the newest usable one of `checkpoint-<projection>`; an as-of query (checkpointAsOf.ts) the
 * nearest at or before its session, from any of the streams.
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

/** Every SnapshotTaken of `checkpoint-<projection>` (all versions, not its tiers), oldest first. */
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
 * that crashed after checkpointing and checkpoints the same session again appends nothing. With
 * `keepNewest`, on a log that can truncate, the retention rule (checkpointTiers.ts) is applied: the
 * snapshot that leaves the newest `keepNewest` moves to its tier's stream or is dropped.
 */
export async function appendSnapshot<S>(
  log: EventLog,
  projection: Projection<S>,
  state: S,
  position: Position,
  session: number,
  keepNewest?: number,
): Promise<CheckpointRef & { stateHash: string }> {
  const json = projection.toSnapshot(state);
  const hash = stateHash(json);
  const data: SnapshotTaken = { projection: projection.name, version: projection.version, position: position.toString(), session, state: json, stateHash: hash };
  const main = streams.checkpoint(projection.name);
  const appended = await log.append(main, [newEvent('SnapshotTaken', data, snapshotEventId(projection.name, projection.version, session))]);
  if (keepNewest !== undefined && log.truncateStream !== undefined) {
    const leaving = appended.nextExpectedRevision - keepNewest;
    if (leaving >= 0 && tierOf(leaving + 1) > 0) await moveToTier(log, main, leaving, keepNewest);
    await log.truncateStream(main, keepNewest);
  }
  return { session, position, stateHash: hash };
}

/** Copies the snapshot at `revision` of `main` to the end of its tier's stream (a retried copy appends nothing), which keeps its newest `keepNewest`. */
async function moveToTier(log: EventLog, main: string, revision: number, keepNewest: number): Promise<void> {
  const [event] = await log.readStream(main, { fromRevision: revision, maxCount: 1 });
  if (event?.revision !== revision || !isEvent(event, 'SnapshotTaken')) return;
  const stream = tierStream(event.data.projection, tierOf(revision + 1));
  await log.append(stream, [newEvent('SnapshotTaken', event.data, snapshotEventId(stream, event.data.version, event.data.session))]);
  await log.truncateStream!(stream, keepNewest);
}

/** A UUID-shaped id (EventStoreDB requires UUIDs) that is a pure function of its inputs. */
export function snapshotEventId(projection: string, version: number, session: number): string {
  const hex = createHash('sha256').update(`fedlog checkpoint ${projection} v${version} session ${session}`).digest('hex');
  // Version nibble 8 and variant bits 10xx: an RFC 9562 "custom" (v8) UUID.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

