/**
 * Where the engine stands in the log: the first session without `SessionCompleted` is the open one,
 * and everything it already recorded (accepted items, a signature) is continued, never redone.
 * Completed sessions form a prefix (0..k-1), so the open session is found by an exponential then
 * binary search over "session-i is complete" instead of reading every session stream.
 */
import { hexToBytes } from '../../domain/hashing.ts';
import type { EventLog, ExpectedRevision, Position, RecordedEvent } from '../../streams/eventLog.ts';
import { isEvent, streams } from '../../streams/events.ts';

export interface OpenSession {
  session: number;
  /** Revision to expect at the next append to `session-<i>` (optimistic concurrency against a second writer). */
  revision: ExpectedRevision;
  /** sha256(enc(AcceptedItem)) of every accepted item so far, in order: the header's merkle leaves. */
  leafHashes: Uint8Array[];
  /** itemHash (hex) of every item the session recorded, accepted or rejected, in order: what a replaying ordering must deliver again. */
  recorded: string[];
  /** Signatures of the header recorded before a crash, by peer (valid ones only). */
  signatures: Map<number, Uint8Array>;
  /** Position of the newest event the ledger depends on (the open session's last, or the previous completion). */
  position: Position;
  /** When the session opened: the previous session's completion, or the federation's configuration. */
  openedAt: Date;
}

async function lastEvent(log: EventLog, stream: string): Promise<RecordedEvent | undefined> {
  return (await log.readStream(stream, { direction: 'backwards', maxCount: 1 }))[0];
}

async function isComplete(log: EventLog, session: number): Promise<boolean> {
  const last = await lastEvent(log, streams.session(session));
  return last !== undefined && last.type === 'SessionCompleted';
}

/** The number of completed sessions (= the open session's index). */
export async function completedSessionCount(log: EventLog): Promise<number> {
  if (!(await isComplete(log, 0))) return 0;
  let low = 0; // complete
  let high = 1;
  while (await isComplete(log, high)) {
    low = high;
    high *= 2;
  }
  // low is complete, high is not: find the boundary.
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await isComplete(log, mid)) low = mid;
    else high = mid;
  }
  return high;
}

export async function findOpenSession(log: EventLog, federationConfigured: RecordedEvent): Promise<OpenSession> {
  const session = await completedSessionCount(log);
  let openedAt = new Date(federationConfigured.metadata.recordedAt);
  let position = federationConfigured.position;
  if (session > 0) {
    const previous = await lastEvent(log, streams.session(session - 1));
    if (previous !== undefined) {
      openedAt = new Date(previous.metadata.recordedAt);
      position = previous.position;
    }
  }
  const open: OpenSession = { session, revision: 'noStream', leafHashes: [], recorded: [], signatures: new Map(), position, openedAt };
  for (const event of await log.readStream(streams.session(session))) {
    open.revision = event.revision;
    open.position = event.position;
    if (isEvent(event, 'ItemAccepted')) {
      if (event.data.index !== open.leafHashes.length) throw new Error(`Consensus failure: session ${session} has item index ${event.data.index} where ${open.leafHashes.length} was expected`);
      open.leafHashes.push(hexToBytes(event.data.itemHash));
      open.recorded.push(event.data.itemHash);
    } else if (isEvent(event, 'ItemRejected')) {
      open.recorded.push(event.data.itemHash);
    } else if (isEvent(event, 'SignatureRecorded') && event.data.valid) {
      open.signatures.set(event.data.peer, hexToBytes(event.data.signature));
    }
  }
  return open;
}
