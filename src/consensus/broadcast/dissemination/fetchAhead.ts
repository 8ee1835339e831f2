/**
 * Catching up when this node is behind. Units far above our DAG are dropped (each would cost
 * requests), so a lagging node does not wait for them: once f + 1 creators have shown validly signed
 * units well above our newest round (so at least one honest node is really there), it asks for the
 * next `window` rounds of every creator that has shown a unit that high, all at once, and for more
 * as its DAG grows. A coordinate whose request gave up (answers lost, or refused by a busy peer) is
 * asked again on the next pass; a byzantine creator's claims alone never move the bound.
 */
export interface FetchAhead {
  /** A validly signed unit of `creator` at `round` arrived (kept or dropped). */
  saw(creator: number, round: number): void;
  /** The highest round of `creator` seen validly signed (-1 before any). */
  highestSeen(creator: number): number;
  /** The (f + 1)-th highest round seen: some honest creator has reached it. */
  honestBound(): number;
  /** Our DAG's newest round is `top`: fetch what lies above it, if we are behind. */
  update(top: number): void;
}

/** Rounds behind the honest bound before fetching: less is ordinary network jitter. */
const LAG_ROUNDS = 3;

export function createFetchAhead(options: {
  n: number;
  window: number;
  /** Asks for a coordinate unless it is held or asked for; false when the request table is full. */
  fetch: (creator: number, round: number) => boolean;
}): FetchAhead {
  const { n, window } = options;
  const f = Math.floor((n - 1) / 3);
  const seen: number[] = Array.from({ length: n }, () => -1);
  let bound = -1;

  return {
    saw(creator, round) {
      if (creator < 0 || creator >= n || round <= seen[creator]!) return;
      seen[creator] = round;
      // The (f + 1)-th highest round: some honest creator has reached it.
      bound = [...seen].sort((a, b) => b - a)[f]!;
    },
    highestSeen: (creator) => seen[creator] ?? -1,
    honestBound: () => bound,
    update(top) {
      if (bound < top + LAG_ROUNDS) return;
      const last = Math.min(top + window, bound);
      // From a few rounds below our newest: our own units can run ahead of the others' we hold.
      for (let round = Math.max(0, top - LAG_ROUNDS); round <= last; round++) {
        for (let creator = 0; creator < n; creator++) {
          if (seen[creator]! >= round && !options.fetch(creator, round)) return;
        }
      }
    },
  };
}
