/**
 * Signature checks of submitted transactions, verified once at submission. Submissions that arrive
 * in the same turn of the event loop are verified together as one batch, so under load the batch
 * verifier can spread them over worker threads instead of verifying one by one on the thread that
 * also runs the session loop.
 */
import type { SchnorrBackend, SignatureCheck } from '../../domain/signatureBackend.ts';
import type { BatchVerifier } from '../../domain/signatures/batchVerifier.ts';

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

/** Coalesces the checks of one event-loop turn into one `verifyBatch` call. */
export function batchingSignatureChecker(verifier: BatchVerifier): SignatureChecker {
  let pending: { checks: readonly SignatureCheck[]; resolve: (r: boolean[]) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
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
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    close: () => verifier.close(),
  };
}
