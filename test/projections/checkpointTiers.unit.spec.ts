import { describe, expect, it } from 'vitest';
import { keptCheckpoints, keptLocation, projectionOfCheckpointStream, tierOf, tierStream } from '../../src/projections/checkpointTiers.ts';

describe('checkpoint tiers', () => {
  it('puts checkpoint o in the tier of its trailing zero bits', () => {
    expect([1, 2, 3, 4, 6, 8, 12, 96, 2 ** 40].map(tierOf)).toEqual([0, 1, 0, 2, 1, 3, 2, 5, 40]);
    expect(() => tierOf(0)).toThrow(RangeError);
  });

  it('names tier streams beside checkpoint-<projection> and reads the projection back from either', () => {
    expect(tierStream('ledger', 3)).toBe('checkpoint-ledger.tier-3');
    expect(projectionOfCheckpointStream('checkpoint-ledger.tier-3')).toBe('ledger');
    expect(projectionOfCheckpointStream('checkpoint-ledger')).toBe('ledger');
    expect(projectionOfCheckpointStream('session-3')).toBeUndefined();
  });

  it.each([2, 3, 4])('keeps at most K * (1 + log2 n) of n checkpoints, and every checkpoint is a short fold from a kept one (K = %i)', (keepNewest) => {
    for (const count of [1, 2, 7, 100, 1_000, 4_097]) {
      const kept = keptCheckpoints(count, keepNewest);
      expect(kept.length, `n = ${count}`).toBeLessThanOrEqual(keepNewest * (1 + Math.floor(Math.log2(count))));
      // The newest K in a row: a start loads the newest, and recent sessions fold nothing.
      expect(kept.slice(-Math.min(count, keepNewest))).toEqual(Array.from({ length: Math.min(count, keepNewest) }, (_, i) => count - Math.min(count, keepNewest) + 1 + i));
      const keptSet = new Set(kept);
      for (let o = 1; o <= count; o++) {
        let nearest = o;
        while (nearest > 0 && !keptSet.has(nearest)) nearest--;
        const age = count - o;
        expect(o - nearest, `n = ${count}, checkpoint ${o}`).toBeLessThanOrEqual(Math.max(0, Math.floor((2 * age) / (keepNewest + 1))));
      }
    }
  });

  it('only ever drops checkpoints: one kept after n + 1 checkpoints was kept after n', () => {
    for (let count = 1; count < 600; count++) {
      const before = new Set(keptCheckpoints(count, 3));
      for (const o of keptCheckpoints(count + 1, 3)) if (o <= count) expect(before.has(o), `checkpoint ${o} at n = ${count + 1}`).toBe(true);
    }
  });

  it("locates each kept checkpoint at its stream's revision: checkpoint-<name>'s newest, then each tier's in order", () => {
    expect(keptLocation('audit', 100, 100, 3)).toEqual({ stream: 'checkpoint-audit', revision: 99 });
    expect(keptLocation('audit', 96, 100, 3)).toEqual({ stream: 'checkpoint-audit.tier-5', revision: 1 });
    const count = 1_000;
    const byStream = new Map<string, number[]>();
    for (const ordinal of keptCheckpoints(count, 3)) {
      const { stream, revision } = keptLocation('audit', ordinal, count, 3);
      byStream.set(stream, [...(byStream.get(stream) ?? []), revision]);
    }
    // Each stream holds its newest 3 revisions, in a row, as truncation to the newest 3 leaves them.
    for (const [stream, revisions] of byStream) {
      expect(revisions.length, stream).toBeLessThanOrEqual(3);
      expect(revisions, stream).toEqual(revisions.map((_, i) => revisions[0]! + i));
    }
    expect(byStream.get('checkpoint-audit')).toEqual([997, 998, 999]);
  });
});
