import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replayCommand.ts';
import { checkpointedSqliteLog } from '../projections/sessionLogFixture.ts';

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
});
