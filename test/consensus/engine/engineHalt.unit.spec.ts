import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../../src/domain/hashing.ts';
import { ConsensusFailure } from '../../../src/consensus/engine/engine.ts';
import type { AppendResult, EventLog, EventToAppend } from '../../../src/streams/eventLog.ts';
import { configuredLog, depositId, engineOn, USER_KEY } from './engineFixture.ts';

const deposit = (n: number) => ({ depositId: depositId(n), amount: 10_000n, recipient: bytesToHex(USER_KEY) });

/** A log whose session appends fail (a full disk): the loop must halt. */
function failingLog(log: EventLog): EventLog {
  return {
    ...log,
    async append(stream: string, events: readonly EventToAppend[], options?: Parameters<EventLog['append']>[2]): Promise<AppendResult> {
      if (stream.startsWith('session-')) throw new Error('disk I/O error');
      return log.append(stream, events, options);
    },
  };
}

describe('the session loop halting on a consensus failure', () => {
  it('releases every outcome waiter at once instead of leaving it to its timeout', async () => {
    const engine = await engineOn(failingLog(await configuredLog(3600)), 3600);
    const queued = await engine.observeDeposit(deposit(1));
    expect(queued.kind).toBe('queued');
    const key = (queued as { txid: string }).txid;
    const started = performance.now();
    const waited = engine.waitForOutcome(key, 10_000);
    await expect(engine.done).rejects.toBeInstanceOf(ConsensusFailure);
    expect(await waited).toBeUndefined();
    // A wait that starts after the halt is answered at once too.
    expect(await engine.waitForOutcome(key, 10_000)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
