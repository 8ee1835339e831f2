import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams } from '../streams/events.ts';

/**
 * Signed session outcomes straight from the `session-<i>` stream: the accepted items in order and
 * the signatures of SessionCompleted. Read on demand rather than projected, so that serving them
 * costs no memory (a full history of items would not fit a bounded projection).
 */

export interface SessionItem {
  index: number;
  peer: number;
  /** enc(ConsensusItem) hex. */
  item: string;
  itemHash: string;
  txid?: string;
}

export interface SignedSessionOutcomeRecord {
  session: number;
  /** header(i) hex, 40 bytes. */
  header: string;
  itemCount: number;
  items: SessionItem[];
  /** peer id (decimal) -> BIP-340 signature hex over the header's signed digest. */
  signatures: Record<string, string>;
}

/** The items and signatures of a completed session; undefined while it is not complete. */
export async function readSignedSessionOutcome(log: EventLog, session: number): Promise<SignedSessionOutcomeRecord | undefined> {
  const events = await log.readStream(streams.session(session));
  const completed = events.find((e) => isEvent(e, 'SessionCompleted'));
  if (completed === undefined || !isEvent(completed, 'SessionCompleted')) return undefined;
  const items = acceptedItems(events);
  const { header, itemCount, signatures } = completed.data;
  return { session, header, itemCount, items, signatures };
}

/** A page of a session's accepted items (complete or still open), in item order. */
export async function readSessionItems(log: EventLog, session: number, { offset = 0, limit = 100 }: { offset?: number; limit?: number } = {}): Promise<SessionItem[]> {
  const items = acceptedItems(await log.readStream(streams.session(session)));
  return items.slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit));
}

function acceptedItems(events: Awaited<ReturnType<EventLog['readStream']>>): SessionItem[] {
  const items: SessionItem[] = [];
  for (const event of events) {
    if (!isEvent(event, 'ItemAccepted')) continue;
    const { index, peer, item, itemHash, txid } = event.data;
    items.push(txid === undefined ? { index, peer, item, itemHash } : { index, peer, item, itemHash, txid });
  }
  // Appended in index order by the engine; sorting guards readers against a reordered store.
  return items.sort((a, b) => a.index - b.index);
}
