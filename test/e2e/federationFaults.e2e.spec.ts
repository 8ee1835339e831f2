import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './spawnGuardian.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { expectAgreement, loadOn, federationPerTest, sessionCount, until, wipeLog } from './federationProcesses.ts';

const newFederation = federationPerTest();

describe('a federation of four guardian processes surviving faults', () => {
  it('keeps completing sessions with one guardian killed (f = 1), and the restarted guardian catches up and agrees; with two killed it stalls and resumes', async () => {
    const f = await newFederation(seededRandom(102));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    await until(async () => (await sessionCount(f, 0)) >= 1, 30_000, 'the first session');
    await f.kill(3);
    const at = await sessionCount(f, 0);
    await until(async () => (await sessionCount(f, 1)) >= at + 3, 30_000, 'three guardians keep going');
    await f.start(3);
    const target = (await sessionCount(f, 0)) + 1;
    await until(async () => (await sessionCount(f, 3)) >= target, 30_000, 'the restarted guardian catches up');
    await expectAgreement(f, target);

    await Promise.all([f.kill(2), f.kill(3)]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stalled = await sessionCount(f, 0);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await sessionCount(f, 0)).toBe(stalled);
    await Promise.all([f.start(2), f.start(3)]);
    await until(async () => (await Promise.all([0, 1, 2, 3].map((p) => sessionCount(f, p)))).every((c) => c >= stalled + 1), 40_000, 'all four resume');
    await expectAgreement(f, stalled + 1);
  }, 180_000);

  it("rebuilds a wiped guardian from its peers' signed outcomes, and its replay reports no mismatch", async () => {
    const f = await newFederation(seededRandom(103));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    await loadOn(f, 1, 4, 3);
    await f.kill(2);
    wipeLog(f.setups[2]!);
    await f.start(2);
    const target = (await sessionCount(f, 0)) + 1;
    await until(async () => (await sessionCount(f, 2)) >= target, 40_000, 'the wiped guardian rebuilds');
    await expectAgreement(f, target);
    await f.kill(2, 'SIGTERM');
    const replay = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'replay', '--data', f.setups[2]!.dataDir, '--json'], { cwd: repoRoot, encoding: 'utf8' });
    const report = JSON.parse(replay.stdout.trim().split('\n').at(-1)!) as { ok: boolean; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  }, 180_000);
});
