import { maxMessageBytes, MAX_UNIT_DATA_BYTES } from './dissemination/messages.ts';

/** Parameters of one broadcast instance (one session). */
export interface BroadcastConfig {
  /** Federation size, n >= 4 (a single guardian needs no broadcast). */
  n: number;
  /** This node's index, 0 .. n-1. */
  peer: number;
  /** Units and wire messages of another session are dropped, so nothing is ever replayed across sessions. */
  session: bigint;
  /** Pause between two own units (DESIGN.md default 50 ms), times a random factor in [0.5, 1.5). */
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
  /** Frames larger than this are dropped undecoded (default: room for n + 2 largest units). */
  maxMessageBytes: number;
  /**
   * The frame limit of alert messages, which carry the forker's legit units (one per round it
   * made): a fork found late in a session needs far more than maxMessageBytes. Default 16 MiB;
   * the peer transport must carry frames this large.
   */
  maxAlertBytes: number;
  /**
   * A unit more than this many rounds above the newest round of our DAG is dropped without a request:
   * its parents would cost a request each. A lagging node fetches its way up instead.
   */
  maxRoundsAhead: number;
  /** Standing requests caused by one peer's units; a unit that would need more is dropped (it comes again). */
  maxRequestsPerPeer: number;
  /** Standing requests in total. */
  maxStandingRequests: number;
  /**
   * What one peer can make this node spend, as a token bucket refilled per second: units sent in
   * answers to its requests, and signature verifications of units it sent.
   */
  peerBudget: { burst: number; perSecond: number };
}

export function broadcastConfig(base: Pick<BroadcastConfig, 'n' | 'peer' | 'session'> & Partial<BroadcastConfig>): BroadcastConfig {
  const roundDelayMs = base.roundDelayMs ?? 50;
  const n = base.n;
  const maxRoundsAhead = base.maxRoundsAhead ?? 40;
  const maxDataBytes = base.maxDataBytes ?? MAX_UNIT_DATA_BYTES;
  const maxRequestsPerPeer = base.maxRequestsPerPeer ?? 2 * n * maxRoundsAhead;
  const config: BroadcastConfig = {
    roundDelayMs,
    roundsPerSession: 3600,
    requestDelayMs: Math.max(20, 2 * roundDelayMs),
    requestBackoffMaxMs: 2_000,
    rebroadcastMs: Math.max(200, 10 * roundDelayMs),
    maxDataBytes,
    maxMessageBytes: maxMessageBytes(n, maxDataBytes),
    maxAlertBytes: 16 * 1024 * 1024,
    maxRoundsAhead,
    maxRequestsPerPeer,
    // f byzantine peers at their cap still leave room for two honest peers' worth.
    maxStandingRequests: (Math.floor((n - 1) / 3) + 2) * maxRequestsPerPeer,
    peerBudget: { burst: 4 * n * maxRoundsAhead, perSecond: 4 * n * maxRoundsAhead },
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

/**
 * The delay a node actually waits: as Fedimint, times a random factor in [0.5, 1.5), so nodes
 * started together do not create in lockstep. `random` is the node's seeded source.
 */
export function jitteredRoundDelay(config: BroadcastConfig, round: number, random: () => number): number {
  return roundDelay(config, round) * (0.5 + random());
}

/**
 * The last round of a session: roundsPerSession + 1000 rounds in all (rounds 0 .. maxRound), where
 * AlephBFT's creator stops (its `max_round` is exclusive). No unit above it is created or accepted.
 */
export function maxRound(config: Pick<BroadcastConfig, 'roundsPerSession'>): number {
  return config.roundsPerSession + 1000 - 1;
}
