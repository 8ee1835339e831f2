import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../../src/projections/replay/replay.ts';
import type { ShareResult } from '../../../src/projections/replay/share.ts';
import type { WorkerShareRequest } from '../../../src/projections/replay/twoThreads.ts';
import { compiledWorkerUrl } from '../../../src/runtime/threads/compiledWorker.ts';
import { checkpointedSqliteLog } from '../sessionLogFixture.ts';

// A two-thread replay does the worker's share itself when the worker fails, so its specs would
// pass with a broken worker: this one runs the built worker on its own.
describe('the replay worker (built into dist/)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-replay-worker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens the log itself and folds its share to the states one thread rebuilds', async () => {
    const { log, path } = await checkpointedSqliteLog(dir, { sessions: 2, seed: 11 });
    const one = await replay(log);
    await log.close();
    const worker = new Worker(compiledWorkerUrl('projections/replay/replayWorker.bundle.js'), { workerData: { location: { kind: 'sqlite', path }, guardian: 0 } });
    try {
      const request: WorkerShareRequest = { projections: ['ledger', 'audit', 'transactions'], elsewhere: ['pendingItems', 'sessions', 'peers'] };
      worker.postMessage(request);
      const answer = await new Promise<{ ok: true; result: ShareResult } | { ok: false; message: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(answer).toMatchObject({ ok: true });
      const { report } = (answer as { result: ShareResult }).result;
      expect(report.events).toBe(one.events);
      expect(report.problems).toEqual([]);
      expect(report.projections).toEqual(one.projections.filter((p) => request.projections.includes(p.name)));
      expect(report.snapshotsChecked).toBe(2 * 3);
    } finally {
      await worker.terminate();
    }
  });
});
