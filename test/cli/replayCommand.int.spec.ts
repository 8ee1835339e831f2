import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replayCommand.ts';
import { repoRoot } from '../e2e/spawnGuardian.ts';
import { checkpointedSqliteLog } from '../projections/sessionLogFixture.ts';

/** `fedlog replay <args>` as an operator runs it: exit code, stdout, stderr. */
function fedlog(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin', 'fedlog.js'), ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('fedlog replay (the command)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the CPU the replay used on all threads, in its JSON and in its summary line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-replay-cmd-'));
    dirs.push(dir);
    const { log } = await checkpointedSqliteLog(dir, { sessions: 3, seed: 17 });
    await log.close();

    const json: string[] = [];
    expect(await runReplay({ data: dir, json: true, threads: '1', print: (line) => json.push(line) })).toBe(true);
    const report = JSON.parse(json.at(-1)!) as { ok: boolean; events: number; cpuMs: number; durationMs: number };
    expect(report.ok).toBe(true);
    expect(report.events).toBeGreaterThan(0);
    // Folding every event takes some CPU.
    expect(report.cpuMs).toBeGreaterThan(0);

    const human: string[] = [];
    expect(await runReplay({ data: dir, threads: '1', print: (line) => human.push(line) })).toBe(true);
    expect(human[0]).toMatch(/^replayed [\d,]+ events from position 0 in \d+\.\d\d s \([\d,]+ events\/s; \d+\.\d\d CPU-seconds on all threads\)$/);
  });

  it('--from-checkpoint starts from the newest common checkpoint, or from the one at the session given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-replay-cmd-'));
    dirs.push(dir);
    const { log, fixture } = await checkpointedSqliteLog(dir, { sessions: 3, seed: 18 });
    await log.close();
    type Report = { ok: boolean; from: string; sessions: number; problems: { kind: string; detail: string }[] };
    const run = async (...args: string[]) => {
      const result = await fedlog(['replay', '--data', dir, '--json', '--threads', '1', ...args]);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
    };
    const newest = await run('--from-checkpoint');
    const chosen = await run('--from-checkpoint', '0');
    // The checkpoint of session s holds the states as of its SessionCompleted: later sessions are what is verified.
    expect(BigInt(newest.from)).toBe(fixture.completedAt[2]!);
    expect(newest.sessions).toBe(0);
    expect(BigInt(chosen.from)).toBe(fixture.completedAt[0]!);
    expect(chosen.sessions).toBe(2);
    expect([newest.ok, chosen.ok]).toEqual([true, true]);

    // No checkpoint there: said, and everything is rebuilt from position 0.
    const missing = await run('--from-checkpoint', '7');
    expect(missing.from).toBe('0');
    expect(missing.sessions).toBe(3);
    expect(missing.problems.filter((p) => p.kind === 'checkpoint').map((p) => p.detail)).toContain('no usable checkpoint at session 7; rebuilt from position 0');

    const bad = await fedlog(['replay', '--data', dir, '--from-checkpoint', 'latest']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--from-checkpoint.*expected a non-negative integer/);
  });
});
