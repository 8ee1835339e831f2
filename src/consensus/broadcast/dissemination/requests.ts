import type { Clock } from '../clock.ts';

/**
 * Asks peers for what this node is missing (a unit at a coordinate, a unit's parents). An urgent
 * request (this node is behind: nothing is on its way) goes out at once to two random peers; a
 * normal one first waits a moment (the unit is usually already in flight) and asks one. Each retry
 * asks one more peer, with doubling backoff up to a cap; at the cap, one peer per attempt: a request
 * nobody answers slows down to one message per maxDelayMs.
 * A speculative request (fetching ahead) gives up after `maxAttempts`.
 *
 * Every request is charged to the peer whose unit caused it, so one peer cannot fill the table:
 * callers check `affordable` before accepting a unit that would add requests.
 */
export interface WantOptions {
  /** The peer whose message made us ask (this node's own index for fetching ahead). */
  cause: number;
  /** Asked at once, of two peers (one for a fetch ahead, which asks for many coordinates at once). */
  urgent?: boolean;
  /** Peers asked by the first attempt (default 2 when urgent, else 1). */
  firstPeers?: number;
  /** Wait before the first attempt of a normal request (default: the configured first delay). */
  firstDelayMs?: number;
  /** Give up after this many attempts (default: never, only slow down). */
  maxAttempts?: number;
}

export interface Requests {
  want(key: string, ask: (peer: number) => void, options: WantOptions): void;
  satisfied(key: string): void;
  isOpen(key: string): boolean;
  /** Whether `cause` may add `count` more standing requests. */
  affordable(cause: number, count: number): boolean;
  stop(): void;
  readonly pending: number;
  /** Requests sent so far (each peer asked counts once). */
  readonly sent: number;
  causedBy(peer: number): number;
}

export interface RequestsOptions {
  clock: Clock;
  self: number;
  n: number;
  random: () => number;
  firstDelayMs: number;
  maxDelayMs: number;
  maxPerPeer: number;
  maxTotal: number;
}

interface Open {
  cancel: () => void;
  cause: number;
  maxAttempts: number;
}

export function createRequests(options: RequestsOptions): Requests {
  const { clock, self, n, random, firstDelayMs, maxDelayMs } = options;
  const open = new Map<string, Open>();
  const caused: number[] = Array.from({ length: n }, () => 0);
  let sent = 0;
  let stopped = false;

  /** `count` distinct random peers other than this node. */
  function randomPeers(count: number): number[] {
    const others = [...Array(n).keys()].filter((p) => p !== self);
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return others.slice(0, Math.min(count, others.length));
  }

  function close(key: string): void {
    const entry = open.get(key);
    if (entry === undefined) return;
    entry.cancel();
    open.delete(key);
    caused[entry.cause]!--;
  }

  return {
    get pending() {
      return open.size;
    },
    get sent() {
      return sent;
    },
    causedBy: (peer) => caused[peer] ?? 0,
    isOpen: (key) => open.has(key),
    affordable: (cause, count) => (caused[cause] ?? 0) + count <= options.maxPerPeer && open.size + count <= options.maxTotal,
    want(key, ask, { cause, urgent = false, firstPeers = urgent ? 2 : 1, maxAttempts = Number.POSITIVE_INFINITY, ...rest }) {
      if (stopped) return;
      const existing = open.get(key);
      if (existing !== undefined) {
        // A unit now waits for what was fetched speculatively: the request must not give up any more.
        existing.maxAttempts = Math.max(existing.maxAttempts, maxAttempts);
        return;
      }
      let attempt = 0;
      let delay = firstDelayMs;
      const fire = () => {
        const entry = open.get(key);
        if (entry === undefined) return;
        if (attempt >= entry.maxAttempts) return close(key);
        // Widening helps while an answer may still be on its way; at the backoff cap the request is likely
        // unanswerable (a byzantine unit's parents), so it asks one peer at a time, slowly.
        const peers = delay >= maxDelayMs ? 1 : firstPeers + attempt;
        for (const peer of randomPeers(peers)) {
          sent++;
          ask(peer);
        }
        attempt++;
        schedule(delay);
        delay = Math.min(delay * 2, maxDelayMs);
      };
      const schedule = (ms: number) => {
        const entry = open.get(key);
        if (entry !== undefined) entry.cancel = clock.setTimer(ms, fire);
      };
      open.set(key, { cancel: () => undefined, cause, maxAttempts });
      caused[cause]!++;
      if (urgent) fire();
      else schedule(rest.firstDelayMs ?? firstDelayMs);
    },
    satisfied: close,
    stop() {
      stopped = true;
      for (const entry of open.values()) entry.cancel();
      open.clear();
      caused.fill(0);
    },
  };
}
