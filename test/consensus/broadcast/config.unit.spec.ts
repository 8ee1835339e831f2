import { describe, expect, it } from 'vitest';
import { broadcastConfig, maxRound, roundDelay } from '../../../src/consensus/broadcast/config.ts';

describe('round delay schedule', () => {
  const config = broadcastConfig({ n: 4, peer: 0, session: 0n, roundDelayMs: 50, roundsPerSession: 100 });
  it('keeps the configured delay up to roundsPerSession', () => {
    expect(roundDelay(config, 0)).toBe(50);
    expect(roundDelay(config, 100)).toBe(50);
  });
  it('slows down by 1.02 per round after roundsPerSession', () => {
    expect(roundDelay(config, 101)).toBeCloseTo(51);
    expect(roundDelay(config, 150)).toBeCloseTo(50 * 1.02 ** 50);
  });
  it('caps the session at roundsPerSession + 1000 rounds', () => {
    expect(maxRound(config)).toBe(1100);
  });
  it('refuses federations too small for the broadcast', () => {
    expect(() => broadcastConfig({ n: 3, peer: 0, session: 0n })).toThrow(RangeError);
  });
});
