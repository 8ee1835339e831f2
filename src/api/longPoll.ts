import type { Observable } from 'rxjs';

/**
 * The waiting half of a long-poll. It subscribes when armed, BEFORE the caller checks whether
 * the answer is already there, so an event landing between that check and the wait is not
 * missed. Waiting ends at the first event after arming, at the deadline, or when the client
 * goes away (its AbortSignal) — whichever comes first; nothing outlives `dispose`.
 */
export interface ArmedWait {
  /** Resolves true if an event arrived (possibly before this call), false on timeout or abort. */
  wait(ms: number, signal: AbortSignal): Promise<boolean>;
  dispose(): void;
}

export function armWait<T>(events$: Observable<T>, wanted: (event: T) => boolean): ArmedWait {
  let fired = false;
  // The source completed (the guardian stopped): nothing more can come, so nobody waits for it.
  let ended = false;
  let wake: (() => void) | undefined;
  const subscription = events$.subscribe({
    next(event) {
      if (fired || !wanted(event)) return;
      fired = true;
      wake?.();
    },
    // A failing source must not hang the request: wake and let the caller re-read.
    error() {
      fired = true;
      wake?.();
    },
    complete() {
      ended = true;
      wake?.();
    },
  });
  return {
    wait(ms, signal) {
      if (fired) return Promise.resolve(true);
      if (ended || ms <= 0 || signal.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', finish);
          wake = undefined;
          resolve(fired);
        };
        const timer = setTimeout(finish, ms);
        signal.addEventListener('abort', finish, { once: true });
        wake = finish;
      });
    },
    dispose: () => subscription.unsubscribe(),
  };
}
