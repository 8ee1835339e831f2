import type { EventLog } from '../streams/eventLog.ts';
import { streams } from '../streams/events.ts';

/**
 * Checkpoint retention (issue 18): which snapshots a log keeps, so that storage grows with the
 * logarithm of the log's length while any session stays a short fold from a kept snapshot.
 *
 * Number a projection's checkpoints 1, 2, 3, ... (the revision of each in `checkpoint-<name>`, plus
 * one); checkpoint o has tier t = the number of trailing zero bits of o. `checkpoint-<name>` keeps
 * the newest K (`keepNewest`, checkpointRetention) checkpoints; one that leaves it with tier t >= 1
 * moves to `checkpoint-<name>.tier-<t>`, which keeps its newest K too (EventLog.truncateStream), and
 * one of tier 0 is dropped. Each snapshot is stored once, and after n checkpoints at most
 * K * (1 + floor(log2 n)) are; tier t's, 2^(t+1) checkpoints apart, reach about K * 2^(t+1)
 * checkpoints back, so checkpoint n - age is fewer than 2 * age / (K + 1) checkpoints after a kept
 * one or the start of the log (K >= 2). `checkpoint-<name>` stays what a start loads from.
 */

/** Where checkpoint streams' tier part starts: `checkpoint-<name>.tier-<t>`. */
const TIER_MARK = '.tier-';

/** The tier of checkpoint number `ordinal` (>= 1): its trailing zero bits. */
export function tierOf(ordinal: number): number {
  if (!Number.isSafeInteger(ordinal) || ordinal < 1) throw new RangeError(`checkpoint numbers start at 1, got ${ordinal}`);
  let tier = 0;
  for (let o = ordinal; o % 2 === 0; o /= 2) tier++;
  return tier;
}

export function tierStream(projection: string, tier: number): string {
  return `${streams.checkpoint(projection)}${TIER_MARK}${tier}`;
}

/** The projection a checkpoint stream (of any tier) belongs to, undefined for another stream. */
export function projectionOfCheckpointStream(stream: string): string | undefined {
  const prefix = streams.checkpoint('');
  if (!stream.startsWith(prefix)) return undefined;
  const name = stream.slice(prefix.length);
  const mark = name.lastIndexOf(TIER_MARK);
  return mark > 0 && /^[1-9][0-9]*$/.test(name.slice(mark + TIER_MARK.length)) ? name.slice(0, mark) : name;
}

/** The checkpoint numbers kept after `count` checkpoints, ascending: the rule above, as a pure function. */
export function keptCheckpoints(count: number, keepNewest: number): number[] {
  const kept: number[] = [];
  const moved = count - keepNewest;
  for (let tier = 1; 2 ** tier <= moved; tier++) {
    // Tier t holds 2^t * (2m + 1) for m = 0, 1, ...: `inTier` of them have left checkpoint-<name>.
    const inTier = Math.floor((moved / 2 ** tier + 1) / 2);
    for (let m = Math.max(0, inTier - keepNewest); m < inTier; m++) kept.push(2 ** tier * (2 * m + 1));
  }
  for (let o = Math.max(1, moved + 1); o <= count; o++) kept.push(o);
  return kept.sort((a, b) => a - b);
}

/**
 * Where checkpoint `ordinal`, kept after `count` checkpoints, is stored when the rule has been
 * applied since the first checkpoint: checkpoint-<name> at revision ordinal - 1, or the tier
 * stream at its index among that tier's checkpoints (ordinal = 2^t (2 revision + 1)).
 */
export function keptLocation(projection: string, ordinal: number, count: number, keepNewest: number): { stream: string; revision: number } {
  if (ordinal > count - keepNewest) return { stream: streams.checkpoint(projection), revision: ordinal - 1 };
  const tier = tierOf(ordinal);
  return { stream: tierStream(projection, tier), revision: (ordinal / 2 ** tier - 1) / 2 };
}

/** The checkpoint number of the newest event in `checkpoint-<projection>` (0 for none), read without parsing its snapshot where the log allows. */
export async function newestCheckpointNumber(log: EventLog, projection: string): Promise<number> {
  const stream = streams.checkpoint(projection);
  const read = { direction: 'backwards', maxCount: 1 } as const;
  const [newest] = log.readStreamText !== undefined ? await log.readStreamText(stream, read) : await log.readStream(stream, read);
  return newest === undefined ? 0 : newest.revision + 1;
}

/** Every checkpoint stream of `projection` that may hold snapshots: `checkpoint-<name>`, then its tiers ascending. */
export async function checkpointStreams(log: EventLog, projection: string): Promise<string[]> {
  const count = await newestCheckpointNumber(log, projection);
  const found = [streams.checkpoint(projection)];
  for (let tier = 1; 2 ** tier <= count; tier++) found.push(tierStream(projection, tier));
  return found;
}
