/**
 * Reconnect delays: capped exponential backoff with full jitter (a delay drawn uniformly from
 * [0, min(maxMs, minMs * 2^attempt)]). The jitter keeps a federation whose links all dropped at once
 * (a restarted guardian, a network blip) from redialing in lockstep; the cap bounds how long a link
 * stays down after its peer is back.
 */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** The delay before reconnect attempt `attempt` (0 for the first after a drop); never above `maxMs`. */
export function reconnectDelay(attempt: number, backoff: Backoff, random: () => number): number {
  // 2^attempt overflows to Infinity past ~1024, which min() caps as it should.
  const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}
