import { describe, expect, it } from 'vitest';
import type { SignatureChecker } from '../../../src/consensus/engine/signatureChecks.ts';
import { bytesToHex } from '../../../src/domain/hashing.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import type { SignatureCheck } from '../../../src/domain/signatureBackend.ts';
import { claimTx, configuredLog, depositId, engineOn, USER_KEY } from './engineFixture.ts';

/** A checker whose next verification waits until the test settles it (a worker pool mid-batch). */
function heldChecker() {
  let hold: { resolve: (r: boolean[]) => void; reject: (e: unknown) => void; checks: readonly SignatureCheck[] } | undefined;
  let held = false;
  const checker: SignatureChecker = {
    verify(checks) {
      if (!held) return Promise.resolve(checks.map((c) => nobleBackend.verify(c.signature, c.message, c.publicKey)));
      return new Promise<boolean[]>((resolve, reject) => (hold = { resolve, reject, checks }));
    },
    close: () => Promise.resolve(),
  };
  return {
    checker,
    holdNext: () => (held = true),
    isHolding: () => hold !== undefined,
    /** What the batch verifier does to pending batches when the guardian closes it. */
    failHeld: (error: unknown) => hold?.reject(error),
    passHeld: () => hold?.resolve(hold.checks.map((c) => nobleBackend.verify(c.signature, c.message, c.publicKey))),
  };
}

describe('a submission in flight while the guardian stops', () => {
  it('is answered like any submission to a stopping guardian (retry later), not with the closed verifier error', async () => {
    const checker = heldChecker();
    const engine = await engineOn(await configuredLog(3600), 3600, { checker: checker.checker });
    const queued = await engine.observeDeposit({ depositId: depositId(1), amount: 10_000n, recipient: bytesToHex(USER_KEY) });
    expect(await engine.waitForOutcome((queued as { txid: string }).txid, 2_000)).toMatchObject({ status: 'accepted' });

    checker.holdNext();
    const submitted = engine.submitTransaction(claimTx(1, 9_000n).hex);
    await new Promise((resolve) => setImmediate(resolve));
    expect(checker.isHolding()).toBe(true);
    await engine.stop();
    checker.failHeld(new Error('the batch verifier was closed'));
    expect(await submitted).toEqual({ kind: 'queueFull', retryAfterSeconds: 5 });
  });

  it('is not queued once the loop stopped while it was being verified', async () => {
    const checker = heldChecker();
    const engine = await engineOn(await configuredLog(3600), 3600, { checker: checker.checker });
    const queued = await engine.observeDeposit({ depositId: depositId(2), amount: 10_000n, recipient: bytesToHex(USER_KEY) });
    expect(await engine.waitForOutcome((queued as { txid: string }).txid, 2_000)).toMatchObject({ status: 'accepted' });

    checker.holdNext();
    const claim = claimTx(2, 9_000n);
    const submitted = engine.submitTransaction(claim.hex);
    await new Promise((resolve) => setImmediate(resolve));
    await engine.stop();
    // The verification itself succeeds, but nothing will ever take the item: "queued" would be a false promise.
    checker.passHeld();
    expect(await submitted).toEqual({ kind: 'queueFull', retryAfterSeconds: 5 });
    expect(engine.knownStatus(claim.txid)).toBeUndefined();
  });
});
