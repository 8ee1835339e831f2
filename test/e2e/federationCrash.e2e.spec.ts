import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoadReport } from '../../src/cli/loadGenerator.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { expectAgreement, loadOn, federationPerTest, sessionCount, until } from './federationProcesses.ts';

const newFederation = federationPerTest();

describe('a federation of four guardian processes, SIGKILLed at random moments under load', () => {
  it('loses no acknowledged transaction, accepts none twice, and no header ever differs (12 kills, each guardian killed)', async () => {
    const random = seededRandom(105);
    const f = await newFederation(random);
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    const reports: LoadReport[] = [];
    let kills = 0;
    // Two phases: the load runs against one guardian while the other three are killed in turn, one at a time (f = 1).
    for (const [target, victims] of [
      [0, [1, 2, 3]],
      [3, [0, 1, 2]],
    ] as const) {
      const load = loadOn(f, target, 14, 10 + target);
      for (let round = 0; round < 2; round++) {
        for (const victim of victims) {
          await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 1_200)));
          await f.kill(victim);
          kills++;
          await f.start(victim);
        }
      }
      reports.push(await load);
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    for (const report of reports) {
      expect(report.doubleSpendsAccepted).toBe(0);
      expect(report.accepted).toBeGreaterThan(0);
    }
    // A transaction is acknowledged once ordered, before its session completes, and a guardian
    // restarted last may still be catching up: wait until all four have completed the session that
    // was open on the furthest when the load ended.
    const counts = () => Promise.all([0, 1, 2, 3].map((p) => sessionCount(f, p)));
    const reached = 1 + Math.max(...(await counts()));
    await until(async () => (await counts()).every((c) => c >= reached), 60_000, `all four guardians complete ${reached} sessions`);
    const count = Math.min(...(await counts()));
    await expectAgreement(f, count);
    await f.stopAll();
    const { openEventLog } = await import('../../src/streams/openEventLog.ts');
    const accepted: string[][] = [];
    for (const setup of f.setups) {
      const log = await openEventLog({ kind: 'sqlite', path: join(setup.dataDir, 'log.sqlite') }, { guardian: 0 });
      const txids: string[] = [];
      for await (const event of log.readAll()) if (event.type === 'ItemAccepted' && (event.data as { txid?: string }).txid !== undefined) txids.push((event.data as { txid: string }).txid);
      await log.close();
      accepted.push(txids);
    }
    const shortest = Math.min(...accepted.map((t) => t.length));
    for (const txids of accepted) {
      expect(new Set(txids).size).toBe(txids.length);
      expect(txids.slice(0, shortest)).toEqual(accepted[0]!.slice(0, shortest));
    }
    // Every transaction a client was told is accepted is in every guardian's history.
    expect(shortest).toBeGreaterThanOrEqual(reports.reduce((sum, r) => sum + r.accepted, 0));
  }, 300_000);
});
