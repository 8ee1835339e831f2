import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../src/runtime/threads/workerExecArgv.mjs';
import { loadReplayModule } from '../../src/projections/replayWorkerLoader.mjs';

describe('the replay worker loader', () => {
  const dirs: string[] = [];
  const cacheDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bundle-cache-'));
    dirs.push(dir);
    return join(dir, 'cache');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('loads replay as one bundle for a SQLite log (not silently through tsx), with working exports', async () => {
    const { module, loadedBy } = await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: cacheDir() });
    expect(loadedBy).toBe('bundle');
    expect(typeof module.replayShare).toBe('function');
  });

  it('keeps the bundle and loads it again while its inputs are unchanged; builds it again when one differs', async () => {
    const dir = cacheDir();
    expect((await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: dir })).loadedBy).toBe('bundle');
    const again = await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: dir });
    expect(again.loadedBy).toBe('cached bundle');
    expect(typeof again.module.replayShare).toBe('function');

    // The record of one input's content no longer matches the file (as after an edit): built again, and the record mended.
    const recordFile = join(dir, 'replay-worker.inputs.json');
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as { inputs: Record<string, string> };
    expect(Object.keys(record.inputs)).toContain('replayParallel.ts');
    record.inputs['replayParallel.ts'] = '0'.repeat(64);
    writeFileSync(recordFile, JSON.stringify(record));
    expect((await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: dir })).loadedBy).toBe('bundle');
    expect((await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: dir })).loadedBy).toBe('cached bundle');

    // A damaged bundle file is not imported.
    writeFileSync(join(dir, 'replay-worker.mjs'), 'export const replayShare = 1;');
    const mended = await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: dir });
    expect(mended.loadedBy).toBe('bundle');
    expect(typeof mended.module.replayShare).toBe('function');
  });

  it('still loads the bundle where the cache cannot be written', async () => {
    const { module, loadedBy } = await loadReplayModule({ kind: 'sqlite', path: ':memory:' }, { cacheDir: join(cacheDir(), 'no', 'such', 'parent') });
    expect(loadedBy).toBe('bundle');
    expect(typeof module.replayShare).toBe('function');
  });

  it('loads replay through tsx for other logs', async () => {
    const { module, loadedBy } = await loadReplayModule({ kind: 'memory' });
    expect(loadedBy).toBe('tsx');
    expect(typeof module.replayShare).toBe('function');
  });

  it('starts workers without the options that load tsx, keeping every other option', () => {
    expect(workerExecArgv(['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs'])).toEqual([]);
    expect(workerExecArgv(['--import', 'tsx', '--max-old-space-size=4096'])).toEqual(['--max-old-space-size=4096']);
    expect(workerExecArgv(['--import=tsx', '--import', './other.mjs', '--enable-source-maps'])).toEqual(['--import', './other.mjs', '--enable-source-maps']);
    expect(workerExecArgv(['--import', './mytsxthing.mjs', '-r', 'dotenv/config'])).toEqual(['--import', './mytsxthing.mjs', '-r', 'dotenv/config']);
  });
});
