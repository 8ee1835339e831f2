import { describe, expect, it } from 'vitest';
import { batchingSignatureChecker } from '../../../src/consensus/engine/signatureChecks.ts';
import type { SignatureCheck } from '../../../src/domain/signatureBackend.ts';
import type { BatchVerifier } from '../../../src/runtime/signatures/batchVerifier.ts';

/** A check whose signature's first byte says whether it is valid (1) or not. */
const check = (valid: boolean, tag: number): SignatureCheck => ({ signature: new Uint8Array([valid ? 1 : 0, tag]), message: new Uint8Array(32), publicKey: new Uint8Array(32) });

function recordingVerifier(): BatchVerifier & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    workers: 2,
    verifyBatch(checks) {
      batches.push(checks.length);
      return Promise.resolve(checks.map((c) => c.signature[0] === 1));
    },
    close: () => Promise.resolve(),
  };
}

describe('batchingSignatureChecker', () => {
  it('verifies the checks of submissions that arrive within its window as one batch, and answers each its own', async () => {
    const verifier = recordingVerifier();
    const checker = batchingSignatureChecker(verifier, { windowMs: 5, flushAt: 1000 });
    const first = checker.verify([check(true, 1), check(false, 2)]);
    // A later turn of the event loop, still within the window.
    await new Promise((resolve) => setImmediate(resolve));
    const second = checker.verify([check(false, 3)]);
    const third = checker.verify([check(true, 4), check(true, 5), check(false, 6)]);
    expect(await Promise.all([first, second, third])).toEqual([[true, false], [false], [true, true, false]]);
    expect(verifier.batches).toEqual([6]);
  });

  it('sends a batch at once when it reaches flushAt, without waiting out the window', async () => {
    const verifier = recordingVerifier();
    const checker = batchingSignatureChecker(verifier, { windowMs: 60_000, flushAt: 4 });
    const answers = await Promise.all([checker.verify([check(true, 1), check(true, 2)]), checker.verify([check(false, 3), check(true, 4)])]);
    expect(answers).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(verifier.batches).toEqual([4]);
    await checker.close();
  });

  it('rejects every submission of a batch whose verification failed', async () => {
    const failing: BatchVerifier = { workers: 1, verifyBatch: () => Promise.reject(new Error('verifier closed')), close: () => Promise.resolve() };
    const checker = batchingSignatureChecker(failing, { windowMs: 1 });
    const results = await Promise.allSettled([checker.verify([check(true, 1)]), checker.verify([check(true, 2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
