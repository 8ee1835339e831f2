import type { Clock } from '../clock.ts';

/**
 * Asks peers for what this node is missing (a unit at a coordinate, a unit's parents): first after
 * a short wait (the unit is usually already on its way), then again with doubling backoff, each
 * time from a random peer, until the thing arrives or the node stops.
 */
export interface Requests {
  want(key: string, ask: (peer: number) => void): void;
  satisfied(key: string): void;
  stop(): void;
  readonly pending: number;
}

export function createRequests(options: { clock: Clock; self: number; n: number; random: () => number; firstDelayMs: number; maxDelayMs: number }): Requests {
  const { clock, self, n, random, firstDelayMs, maxDelayMs } = options;
  const open = new Map<string, () => void>();
  let stopped = false;

  function randomPeer(): number {
    const pick = Math.floor(random() * (n - 1));
    return pick >= self ? pick + 1 : pick;
  }

  return {
    get pending() {
      return open.size;
    },
    want(key, ask) {
      if (stopped || open.has(key)) return;
      let delay = firstDelayMs;
      const schedule = () => {
        const cancel = clock.setTimer(delay, () => {
          if (!open.has(key)) return;
          ask(randomPeer());
          delay = Math.min(delay * 2, maxDelayMs);
          schedule();
        });
        open.set(key, cancel);
      };
      schedule();
    },
    satisfied(key) {
      const cancel = open.get(key);
      if (cancel === undefined) return;
      cancel();
      open.delete(key);
    },
    stop() {
      stopped = true;
      for (const cancel of open.values()) cancel();
      open.clear();
    },
  };
}
