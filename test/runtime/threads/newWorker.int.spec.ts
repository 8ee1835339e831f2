import { describe, expect, it } from 'vitest';
import { newWorker } from '../../../src/runtime/threads/workerExecArgv.mjs';

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
});
