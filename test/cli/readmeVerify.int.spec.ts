import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../api/apiServer.ts';
import { seedHistory } from '../api/fixtures.ts';
import { repoRoot } from '../e2e/spawnGuardian.ts';
import { writeDataDir, type VerifyFixture } from './verifyFixture.ts';

/**
 * Issue 16, item 10: the README's commands are run as written. These are its auditor's commands
 * (the `fedlog verify` section), in a folder laid out as `fedlog dev` leaves it (data/dev/guardian-0)
 * with the federation-keys.json they name; only the guardian's address is this test's own.
 */

const run = promisify(execFile);
// Resolved here: the commands run in a folder of their own, where `--import tsx` would find no tsx.
const TSX = import.meta.resolve('tsx');

/** The `npx fedlog verify ...` lines of the README's verify section, as argument lists after `verify`. */
function readmeVerifyCommands(): string[][] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### For auditors: `fedlog verify`'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block
    .split('\n')
    .filter((line) => line.startsWith('npx fedlog verify '))
    .map((line) => line.slice('npx fedlog verify '.length).trim().split(/\s+/));
}

async function fedlogVerify(cwd: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX, join(repoRoot, 'src', 'cli', 'main.ts'), 'verify', ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe("the README's fedlog verify commands", () => {
  const commands = readmeVerifyCommands();
  let cwd: string;
  let fixture: VerifyFixture;
  let api: ApiServer;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'fedlog-readme-'));
    fixture = await writeDataDir(2, 10);
    mkdirSync(join(cwd, 'data', 'dev'), { recursive: true });
    renameSync(fixture.dir, join(cwd, 'data', 'dev', 'guardian-0'));
    for (const i of [1, 2, 3]) mkdirSync(join(cwd, 'data', 'dev', `guardian-${i}`));
    api = await startApiServer();
    await seedHistory(api);
  });
  afterAll(async () => {
    await api.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('are the two the section shows: over HTTP, and from a data folder', () => {
    expect(commands.map((args) => args[0])).toEqual(['--url', '--data']);
  });

  it('over HTTP: verifies the guardian at the given address against federation-keys.json', async () => {
    const args = commands.find((a) => a[0] === '--url')!.map((arg) => (arg === 'http://127.0.0.1:8174' ? api.url : arg));
    writeFileSync(join(cwd, 'federation-keys.json'), await (await api.get('/v1/federation')).text());
    const { code, stdout, stderr } = await fedlogVerify(cwd, args);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/verify OK/);
    expect(JSON.parse(readFileSync(join(cwd, 'audit.json'), 'utf8'))).toMatchObject({ keys: { origin: 'pinned' } });
  });

  it('from data/dev: reads guardian-0 and verifies against federation-keys.json', async () => {
    const args = commands.find((a) => a[0] === '--data')!;
    writeFileSync(join(cwd, 'federation-keys.json'), readFileSync(join(cwd, 'data', 'dev', 'guardian-0', 'keys.json')));
    const { code, stdout, stderr } = await fedlogVerify(cwd, args);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/verify OK: sessions 0\.\.1/);
    expect(stderr).toMatch(/reading guardian-0/);
  });
});
