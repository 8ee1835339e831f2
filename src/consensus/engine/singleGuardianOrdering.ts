/**
 * The ordering of a one-guardian federation (n = 1): there is nobody to agree with, so a unit is
 * simply what the submission queue holds when the engine asks (at most `maxBatch` items: one
 * commit, one fsync), and the session timer decides when the rounds are over. After the deadline
 * it orders an empty unit of round `roundsPerSession`, then this guardian's own signature.
 */
import type { PeerId } from '../../domain/federation.ts';
import type { Ordering, OrderingEvent, SessionOrdering } from './ordering.ts';
import type { SubmissionQueue } from './submissionQueue.ts';

export interface SingleGuardianOrderingOptions {
  self: PeerId;
  queue: SubmissionQueue;
  sessionSeconds: number;
  roundsPerSession: number;
  /** Most items per unit. */
  maxBatch: number;
  now: () => number;
}

// setTimeout overflows past 2^31-1 ms (firing at once, every turn); the deadline is re-checked anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function singleGuardianOrdering(options: SingleGuardianOrderingOptions): Ordering {
  const { self, queue, roundsPerSession, maxBatch, now } = options;
  return {
    openSession(_session, openedAt): SessionOrdering {
      const deadline = openedAt + options.sessionSeconds * 1000;
      let round = 0;
      let roundsOver = false;
      let signature: Uint8Array | undefined;
      let signatureProposed: (() => void) | undefined;

      const unit = (data: Extract<OrderingEvent, { kind: 'unit' }>['unit']['data'], at: number): OrderingEvent => ({ kind: 'unit', unit: { creator: self, round: at, data } });

      /** Until the queue has work, the deadline passed, or the engine stops. */
      const waitForWork = async (signal: AbortSignal) => {
        const wait = new AbortController();
        const timer = setTimeout(() => wait.abort(), Math.min(MAX_TIMER_MS, Math.max(0, deadline - now())));
        const onStop = () => wait.abort();
        signal.addEventListener('abort', onStop, { once: true });
        try {
          await queue.whenNonEmpty(wait.signal);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onStop);
        }
      };

      const waitForSignature = (signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            signatureProposed = undefined;
            resolve();
          };
          signatureProposed = done;
          signal.addEventListener('abort', done, { once: true });
        });

      return {
        replaysRecordedItems: false,
        async next(signal) {
          for (;;) {
            if (signal.aborted) return undefined;
            if (signature !== undefined) {
              const own = signature;
              signature = undefined;
              return unit({ kind: 'signature', signature: own }, roundsPerSession + 1);
            }
            if (roundsOver) {
              await waitForSignature(signal);
              continue;
            }
            if (now() >= deadline) {
              roundsOver = true;
              return unit({ kind: 'batch', items: [] }, roundsPerSession);
            }
            if (queue.size === 0) {
              await waitForWork(signal);
              continue;
            }
            const items = queue.take(maxBatch).map((submission) => submission.item);
            // Rounds count commits; the timer, not the count, ends the session's rounds.
            const at = Math.min(round++, roundsPerSession - 1);
            return unit({ kind: 'batch', items }, at);
          }
        },
        proposeSignature(own) {
          signature = own;
          signatureProposed?.();
        },
        close: () => Promise.resolve(),
      };
    },
  };
}
