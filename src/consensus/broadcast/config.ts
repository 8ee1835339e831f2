/** Parameters of one broadcast instance (one session). */
export interface BroadcastConfig {
  /** Federation size, n >= 4 (a single guardian needs no broadcast). */
  n: number;
  /** This node's index, 0 .. n-1. */
  peer: number;
  /** Units of another session are rejected, so a unit can never be replayed across sessions. */
  session: bigint;
  /** Pause between two own units (DESIGN.md default 50 ms). */
  roundDelayMs: number;
  /** Rounds at the normal pace (DESIGN.md default 3600); after that the delay grows. */
  roundsPerSession: number;
  /** First wait before asking a peer for a missing unit; doubles per attempt up to requestBackoffMaxMs. */
  requestDelayMs: number;
  requestBackoffMaxMs: number;
  /** How often the newest own unit is sent again, so a peer that lost it or was partitioned catches up. */
  rebroadcastMs: number;
  /** Largest unit data accepted from a peer. */
  maxDataBytes: number;
}

export function broadcastConfig(base: Pick<BroadcastConfig, 'n' | 'peer' | 'session'> & Partial<BroadcastConfig>): BroadcastConfig {
  const roundDelayMs = base.roundDelayMs ?? 50;
  const config: BroadcastConfig = {
    roundDelayMs,
    roundsPerSession: 3600,
    requestDelayMs: Math.max(20, 2 * roundDelayMs),
    requestBackoffMaxMs: 2_000,
    rebroadcastMs: Math.max(200, 10 * roundDelayMs),
    maxDataBytes: 60_000,
    ...base,
  };
  if (!Number.isInteger(config.n) || config.n < 4) throw new RangeError(`the broadcast needs n >= 4, got ${config.n}`);
  if (!Number.isInteger(config.peer) || config.peer < 0 || config.peer >= config.n) throw new RangeError(`peer ${config.peer} is not in 0..${config.n - 1}`);
  return config;
}

/**
 * A stuck session slows down instead of growing without bound: delay * 1.02^(round - roundsPerSession)
 * after roundsPerSession, and no unit at all above maxRound.
 */
export function roundDelay(config: BroadcastConfig, round: number): number {
  if (round <= config.roundsPerSession) return config.roundDelayMs;
  return config.roundDelayMs * Math.pow(1.02, round - config.roundsPerSession);
}

export function maxRound(config: Pick<BroadcastConfig, 'roundsPerSession'>): number {
  return config.roundsPerSession + 1000;
}
