import type { Clock } from '../clock.ts';

/**
 * One token bucket per peer: what that peer may make this node spend (units sent in answers, or
 * signatures verified). A peer that sends nothing but requests or junk gets at most `burst` plus
 * `perSecond` a second, however fast it sends.
 */
export interface PeerBudget {
  /** Takes `cost` tokens from `peer`'s bucket; false (and nothing taken) when it holds fewer. */
  take(peer: number, cost: number): boolean;
}

export function createPeerBudget(n: number, clock: Clock, limits: { burst: number; perSecond: number }): PeerBudget {
  const tokens: number[] = Array.from({ length: n }, () => limits.burst);
  const refilledAt: number[] = Array.from({ length: n }, () => clock.now());
  return {
    take(peer, cost) {
      if (peer < 0 || peer >= n) return false;
      const now = clock.now();
      tokens[peer] = Math.min(limits.burst, tokens[peer]! + ((now - refilledAt[peer]!) / 1000) * limits.perSecond);
      refilledAt[peer] = now;
      if (tokens[peer]! < cost) return false;
      tokens[peer]! -= cost;
      return true;
    },
  };
}
