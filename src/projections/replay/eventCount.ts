import { START, type EventLog } from '../../streams/eventLog.ts';
import { streams } from '../../streams/events.ts';
import type { AnyProjection } from '../projection.ts';

/**
 * The position of the newest event, from the streams DESIGN.md says a log holds: `federation`, one
 * `checkpoint-<projection>` each, and `session-<i>` / `dag-<i>` for sessions 0..last (found by an
 * exponential then binary search, since sessions are numbered without gaps). A handful of reads.
 */
export async function estimateEventCount(log: EventLog, projections: readonly AnyProjection[]): Promise<number | undefined> {
  const newest = async (stream: string) => (await log.readStream(stream, { direction: 'backwards', maxCount: 1 }))[0]?.position ?? START;
  const hasSession = async (i: number) => (await newest(streams.session(i))) > START;
  let head = await newest(streams.federation);
  for (const p of projections) {
    const at = await newest(streams.checkpoint(p.name));
    if (at > head) head = at;
  }
  if (await hasSession(0)) {
    let hi = 1;
    while (await hasSession(hi)) hi *= 2;
    let lo = hi / 2;
    // Invariant: session lo exists, session hi does not.
    if (hi === 1) lo = 0;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await hasSession(mid)) lo = mid;
      else hi = mid;
    }
    for (const stream of [streams.session(lo), streams.dag(lo), streams.dag(lo + 1)]) {
      const at = await newest(stream);
      if (at > head) head = at;
    }
  }
  return head === START ? undefined : Number(head);
}
