import { describe, expect, it } from 'vitest';
import { broadcastConfig, jitteredRoundDelay, maxRound, roundDelay } from '../../../src/consensus/broadcast/config.ts';
import { seededRandom } from '../../../src/domain/seededRandom.ts';

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
  it('caps the session at roundsPerSession + 1000 rounds: rounds 0 .. 1099, where AlephBFT stops', () => {
    expect(maxRound(config)).toBe(1099);
  });
  it('jitters the delay by a factor in [0.5, 1.5) drawn from the given random source', () => {
    const random = seededRandom(5);
    const delays = Array.from({ length: 200 }, () => jitteredRoundDelay(config, 10, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(25);
    expect(Math.max(...delays)).toBeLessThan(75);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(40);
    expect(jitteredRoundDelay(config, 150, () => 0.5)).toBeCloseTo(roundDelay(config, 150));
  });
  it('refuses federations too small for the broadcast', () => {
    expect(() => broadcastConfig({ n: 3, peer: 0, session: 0n })).toThrow(RangeError);
  });
});
