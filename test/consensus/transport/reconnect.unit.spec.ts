import { describe, expect, it } from 'vitest';
import { reconnectDelay } from '../../../src/consensus/transport/backoff.ts';
import { createSendQueue } from '../../../src/consensus/transport/sendQueue.ts';
import { seededRandom } from '../../../src/domain/seededRandom.ts';

describe('reconnect delay', () => {
  const backoff = { minMs: 50, maxMs: 5_000 };

  it('doubles its ceiling per attempt up to the cap (the jitter drawn at its top)', () => {
    const top = () => 0.999_999_9;
    expect([0, 1, 2, 3, 6, 7, 20, 5_000].map((attempt) => reconnectDelay(attempt, backoff, top))).toEqual([49, 99, 199, 399, 3_199, 4_999, 4_999, 4_999]);
  });

  it('draws uniformly below the ceiling (full jitter), never above the cap', () => {
    const random = seededRandom(15);
    const delays = Array.from({ length: 2_000 }, (_, i) => reconnectDelay(10 + (i % 5), backoff, random));
    expect(Math.max(...delays)).toBeLessThan(backoff.maxMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(backoff.maxMs * 0.45);
    expect(mean).toBeLessThan(backoff.maxMs * 0.55);
  });
});

describe('send queue', () => {
  const frame = (k: number) => Buffer.from([k]);

  it('drops the oldest frame when full and says so', () => {
    const queue = createSendQueue(3);
    expect([1, 2, 3].map((k) => queue.push(frame(k)))).toEqual([false, false, false]);
    expect(queue.push(frame(4))).toBe(true);
    expect(queue.length).toBe(3);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([frame(2), frame(3), frame(4), undefined]);
  });

  it('keeps order across wrap-around', () => {
    const queue = createSendQueue(2);
    const out: number[] = [];
    for (let k = 0; k < 10; k++) {
      queue.push(frame(k));
      if (k % 3 === 0) out.push(queue.shift()![0]!);
    }
    while (queue.length > 0) out.push(queue.shift()![0]!);
    // Shifts at k = 0, 3, 6, 9 find the two newest frames; the one in between was dropped.
    expect(out).toEqual([0, 2, 5, 8, 9]);
  });

  it('refuses a limit below one', () => {
    expect(() => createSendQueue(0)).toThrow(RangeError);
  });
});
