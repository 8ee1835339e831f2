/**
 * Time as the broadcast sees it. Every timer of a node comes from an injected Clock, so tests run
 * on a virtual clock: fast, and replayable to the exact interleaving.
 */
export interface Clock {
  now(): number;
  /** Runs `task` once after `ms`; the returned function cancels it (idempotent). */
  setTimer(ms: number, task: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, task) {
    const handle = setTimeout(task, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};

interface Timer {
  at: number;
  seq: number;
  task: () => void;
  cancelled: boolean;
}

/** A clock driven by the test: timers fire in (time, creation) order, microtasks drained in between. */
export interface VirtualClock extends Clock {
  /** Fires every timer due within the next `ms` milliseconds of virtual time. */
  runFor(ms: number): Promise<void>;
  /**
   * Fires timers until `done()` holds (checked after each timer) or `limitMs` of virtual time pass.
   * Returns whether `done()` held.
   */
  runUntil(done: () => boolean, limitMs: number): Promise<boolean>;
  /** Timers fired so far: a cheap progress measure for benchmarks. */
  readonly fired: number;
}

export function createVirtualClock(): VirtualClock {
  let now = 0;
  let seq = 0;
  let fired = 0;
  const heap: Timer[] = [];

  const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  function push(timer: Timer): void {
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }
  function pop(): Timer | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
  // setImmediate runs after every queued microtask, so promise chains started by a timer settle first.
  const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

  async function step(until: number): Promise<boolean> {
    await drain();
    const next = heap[0];
    if (next === undefined || next.at > until) return false;
    pop();
    if (next.cancelled) return true;
    now = Math.max(now, next.at);
    fired++;
    next.task();
    return true;
  }

  return {
    now: () => now,
    get fired() {
      return fired;
    },
    setTimer(ms, task) {
      const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, task, cancelled: false };
      push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    async runFor(ms) {
      const until = now + ms;
      while (await step(until));
      now = Math.max(now, until);
    },
    async runUntil(done, limitMs) {
      const until = now + limitMs;
      while (!done()) {
        if (!(await step(until))) {
          now = Math.max(now, until);
          return done();
        }
      }
      return true;
    },
  };
}
