import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { initFederation } from '../../src/cli/initCommand.ts';
import { loadGuardianConfig } from '../../src/consensus/config.ts';
import { startGuardian } from '../../src/consensus/guardian.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A single guardian (60 s sessions) on an in-memory log, its config in a temporary directory. */
async function startMemoryGuardian(): ReturnType<typeof startGuardian> {
  const out = mkdtempSync(join(tmpdir(), 'fedlog-guardian-'));
  dirs.push(out);
  const { configFiles } = initFederation({ peers: 1, out, sessionSeconds: 60 });
  return startGuardian(loadGuardianConfig(configFiles[0]!), { logger: pino({ level: 'silent' }), signatureWorkers: 0, log: { kind: 'memory' } });
}

describe('the guardian', () => {
  it('reports projection lag against what the engine appended, so a stalled projection host shows', async () => {
    const guardian = await startMemoryGuardian();
    try {
      expect(guardian.projections.status().every((p) => p.lag === 0)).toBe(true);
      // The read models stop following (as after a ProjectionFailedError) while the engine goes on.
      await guardian.projections.stop();
      const queued = await guardian.observeDeposit({ depositId: '11'.repeat(32), amount: 1_000n, recipient: '22'.repeat(32) });
      expect(queued.kind).toBe('queued');
      expect(await guardian.transactionStatus((queued as { txid: string }).txid, 2_000)).toMatchObject({ status: 'accepted' });
      for (const p of guardian.projections.status()) expect(p.lag, p.name).toBeGreaterThan(0);
    } finally {
      await guardian.stop();
    }
  });

  it('answers many transaction statuses at once, in order, waiting together for the undecided ones', async () => {
    const guardian = await startMemoryGuardian();
    try {
      const key = async (depositId: string) => ((await guardian.observeDeposit({ depositId, amount: 1_000n, recipient: '22'.repeat(32) })) as { txid: string }).txid;
      const first = await key('33'.repeat(32));
      expect(await guardian.transactionStatus(first, 2_000)).toMatchObject({ status: 'accepted', index: 0 });
      const second = await key('44'.repeat(32));
      const unknown = 'ef'.repeat(32);
      expect(await guardian.transactionStatuses([second, unknown, first], 300)).toEqual([
        expect.objectContaining({ txid: second, status: 'accepted', index: 1 }),
        { txid: unknown, status: 'unknown' },
        expect.objectContaining({ txid: first, status: 'accepted', index: 0 }),
      ]);
      expect(await guardian.transactionStatuses([unknown, first], 0)).toEqual([{ txid: unknown, status: 'unknown' }, expect.objectContaining({ status: 'accepted' })]);
    } finally {
      await guardian.stop();
    }
  });
});
