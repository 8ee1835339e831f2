import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify } from '../../src/cli/verifyCommand.ts';
import { writeDataDir, type VerifyFixture } from './verifyFixture.ts';

/**
 * Issue 16, item 10: `fedlog dev` keeps four guardians under data/dev/guardian-<i>, and the README
 * said `fedlog verify --data data/dev`, which failed ("no config.json or log.sqlite"). A federation's
 * data folder is accepted: verify reads guardian-0 (or the only guardian-* folder) and says which.
 */

async function verify(data: string) {
  const out: string[] = [];
  const warnings: string[] = [];
  const result = await runVerify({ data, progress: false, workers: 1, print: (l) => out.push(l), warn: (l) => warnings.push(l) });
  return { ...result, out, warnings };
}

describe('fedlog verify --data <a federation’s data folder>', () => {
  let fixture: VerifyFixture;
  let root: string;
  beforeAll(async () => {
    fixture = await writeDataDir(2, 10);
    root = mkdtempSync(join(tmpdir(), 'fedlog-verify-federation-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  it('reads guardian-0 of a folder of guardian-<i> folders, and says so', async () => {
    const federation = join(root, 'four');
    mkdirSync(federation);
    renameSync(fixture.dir, join(federation, 'guardian-0'));
    for (const i of [1, 2, 3]) mkdirSync(join(federation, `guardian-${i}`));
    let result;
    try {
      result = await verify(federation);
    } finally {
      renameSync(join(federation, 'guardian-0'), fixture.dir);
    }
    const { exitCode, out, warnings, report } = result;
    expect(exitCode).toBe(0);
    expect(out.at(-1)).toMatch(/^verify OK: sessions 0\.\.1/);
    expect(warnings.join('\n')).toContain(`reading guardian-0 (${join(federation, 'guardian-0')})`);
    expect(report!.source).toMatchObject({ kind: 'data', dir: join(federation, 'guardian-0') });
  });

  it('reads the only guardian-<i> folder when there is no guardian-0', async () => {
    const federation = join(root, 'one');
    mkdirSync(federation);
    renameSync(fixture.dir, join(federation, 'guardian-2'));
    let result;
    try {
      result = await verify(federation);
    } finally {
      renameSync(join(federation, 'guardian-2'), fixture.dir);
    }
    const { exitCode, warnings } = result;
    expect(exitCode).toBe(0);
    expect(warnings.join('\n')).toContain('reading guardian-2');
  });

  it('asks which one when several guardians and no guardian-0 are there (exit 2)', async () => {
    const federation = join(root, 'several');
    for (const i of [1, 3]) mkdirSync(join(federation, `guardian-${i}`), { recursive: true });
    const { exitCode, error } = await verify(federation);
    expect(exitCode).toBe(2);
    expect(error).toMatch(/guardian-1, guardian-3.*--data .*guardian-1/);
  });

  it('still names what is missing in a folder that is neither', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const { exitCode, error } = await verify(empty);
    expect(exitCode).toBe(2);
    expect(error).toMatch(/no config\.json or log\.sqlite/);
  });
});
