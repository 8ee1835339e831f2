import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { armWait } from '../../src/api/longPoll.ts';

describe('armWait (the waiting half of a long-poll)', () => {
  it('releases a waiting request at once when the source completes (the guardian stopped)', async () => {
    const events$ = new Subject<number>();
    const armed = armWait(events$, (n) => n >= 5);
    const started = performance.now();
    const waited = armed.wait(10_000, new AbortController().signal);
    events$.complete();
    expect(await waited).toBe(false);
    // A wait armed on a finished source does not sit out its timeout either.
    expect(await armed.wait(10_000, new AbortController().signal)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
    armed.dispose();
  });

  it('still answers true for a wanted event, and false for an unwanted one at the deadline', async () => {
    const events$ = new Subject<number>();
    const armed = armWait(events$, (n) => n >= 5);
    const waited = armed.wait(5_000, new AbortController().signal);
    events$.next(5);
    expect(await waited).toBe(true);
    armed.dispose();
    const other = armWait(events$, (n) => n >= 9);
    const late = other.wait(50, new AbortController().signal);
    events$.next(6);
    expect(await late).toBe(false);
    other.dispose();
  });
});
