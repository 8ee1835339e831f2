// A share of `replay` on a worker thread: opens the same log itself and folds the projections it
// is given (see replayShare in replay.ts). Plain JavaScript because Node 20 workers cannot load
// TypeScript on their own: replayWorkerLoader.mjs bundles it.
import { parentPort, workerData } from 'node:worker_threads';
import { loadReplayModule } from './replayWorkerLoader.mjs';

try {
  const { replayShare } = (await loadReplayModule(workerData.location)).module;
  parentPort.postMessage({ ok: true, report: await replayShare(workerData) });
} catch (error) {
  parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
