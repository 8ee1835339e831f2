/**
 * Signature checks of submitted transactions, verified once at submission. Submissions that arrive
 * within a millisecond or so are verified together as one batch, so under load the batch verifier
 * can spread them over worker threads instead of verifying one by one on the thread that also runs
 * the session loop.
 */
import type { SchnorrBackend, SignatureCheck } from '../../domain/signatureBackend.ts';
import type { BatchVerifier } from '../../runtime/signatures/batchVerifier.ts';

export interface SignatureChecker {
  /** One answer per check, in order. */
  verify(checks: readonly SignatureCheck[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Verifies on the calling thread: for tests and small deployments. */
export function inlineSignatureChecker(backend: SchnorrBackend): SignatureChecker {
  return {
    verify: (checks) => Promise.resolve(checks.map((c) => backend.verify(c.signature, c.message, c.publicKey))),
    close: () => Promise.resolve(),
  };
}

export interface CoalescingOptions {
  /** How long the first check of a batch waits for more, ms (default 4). */
  windowMs?: number;
  /** A batch this large goes at once (default 128). */
  flushAt?: number;
}

/**
 * Coalesces the checks of a short window into one `verifyBatch` call. One event-loop turn (what
 * this coalesced before) held only a slice of a batch request's transactions under load: batches
 * of a few checks, verified inline on the event loop's thread or as two tiny worker messages, and
 * every message wakes a worker (a context switch on a 2-core machine that also runs the clients).
 */
export function batchingSignatureChecker(verifier: BatchVerifier, options: CoalescingOptions = {}): SignatureChecker {
  // Measured under load (2,000 tx/s, 2 cores shared with the clients): a 1 ms window flushed ~90
  // times a second, ~21 checks each, nearly always by the timer; every flush is two worker messages
  // and two replies, and each wakes a thread that, on a busy machine, preempts the event loop (the
  // profile showed postMessage as its largest single cost). A few ms more before a submission is
  // queued is nothing next to the ~25 ms commit window it waits in anyway.
  const windowMs = options.windowMs ?? 4;
  const flushAt = options.flushAt ?? 128;
  let pending: { checks: readonly SignatureCheck[]; resolve: (r: boolean[]) => void; reject: (e: unknown) => void }[] = [];
  let pendingChecks = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    pendingChecks = 0;
    const all = batch.flatMap((p) => p.checks);
    verifier.verifyBatch(all).then(
      (results) => {
        let offset = 0;
        for (const p of batch) {
          p.resolve(results.slice(offset, offset + p.checks.length));
          offset += p.checks.length;
        }
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  };

  return {
    verify(checks) {
      if (checks.length === 0) return Promise.resolve([]);
      return new Promise<boolean[]>((resolve, reject) => {
        pending.push({ checks, resolve, reject });
        pendingChecks += checks.length;
        if (pendingChecks >= flushAt) flush();
        else timer ??= setTimeout(flush, windowMs);
      });
    },
    close: () => {
      if (pending.length > 0) flush();
      return verifier.close();
    },
  };
}
