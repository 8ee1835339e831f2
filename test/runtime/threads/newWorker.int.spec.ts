import { describe, expect, it } from 'vitest';
import { compiledWorkerUrl, WorkerNotBuiltError } from '../../../src/runtime/threads/compiledWorker.ts';
import { newWorker, workerExecArgv } from '../../../src/runtime/threads/workerExecArgv.ts';

describe('newWorker', () => {
  it('starts a worker when the process was given options a worker refuses (V8 and process-wide flags), without them', async () => {
    const processArgv = ['--max-semi-space-size=64', '--import', 'tsx', '--stack-size=2000', '--enable-source-maps', '--max-old-space-size=4096'];
    const worker = newWorker("require('node:worker_threads').parentPort.postMessage(process.execArgv)", { eval: true }, processArgv);
    const argv = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(argv).toEqual(['--enable-source-maps']);
    // Learned once: the next worker starts with the same options at the first attempt.
    const again = newWorker("require('node:worker_threads').parentPort.postMessage(process.execArgv)", { eval: true }, processArgv);
    expect(await new Promise((resolve) => again.once('message', resolve))).toEqual(['--enable-source-maps']);
    await again.terminate();
  });

  it('still throws for anything else wrong with a worker', () => {
    expect(() => newWorker('worker.mjs', {}, [])).toThrow(expect.objectContaining({ code: 'ERR_WORKER_PATH' }));
  });

  it('starts workers without the options that load tsx, keeping every other option', () => {
    expect(workerExecArgv(['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs'])).toEqual([]);
    expect(workerExecArgv(['--import', 'tsx', '--max-old-space-size=4096'])).toEqual(['--max-old-space-size=4096']);
    expect(workerExecArgv(['--import=tsx', '--import', './other.mjs', '--enable-source-maps'])).toEqual(['--import', './other.mjs', '--enable-source-maps']);
    expect(workerExecArgv(['--import', './mytsxthing.mjs', '-r', 'dotenv/config'])).toEqual(['--import', './mytsxthing.mjs', '-r', 'dotenv/config']);
  });
});

describe('compiledWorkerUrl', () => {
  it('finds a worker entry compiled into dist/ from its path under src/', () => {
    expect(compiledWorkerUrl('runtime/signatures/verifyWorker.js').pathname).toMatch(/\/dist\/runtime\/signatures\/verifyWorker\.js$/);
  });

  it('names the missing build instead of letting the worker fail to load', () => {
    expect(() => compiledWorkerUrl('projections/noSuchWorker.js')).toThrow(WorkerNotBuiltError);
    expect(() => compiledWorkerUrl('projections/noSuchWorker.js')).toThrow(/npm run build/);
  });
});
