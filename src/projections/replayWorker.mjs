// A share of `replay` on a worker thread: opens the same log itself and does the share it is asked
// for (see replayShare in replayParallel.ts). It is started before the calling thread knows that share,
// so the code loads meanwhile. Plain JavaScript because Node 20 workers cannot load TypeScript on
// their own: replayWorkerLoader.mjs bundles it.
import { parentPort, workerData } from 'node:worker_threads';
import { loadReplayModule } from './replayWorkerLoader.mjs';

const loading = loadReplayModule(workerData.location);
// Awaited below, once the request is in: a failure is reported then.
loading.catch(() => undefined);
const request = await new Promise((resolve) => parentPort.once('message', resolve));
try {
  const { replayShare } = (await loading).module;
  parentPort.postMessage({ ok: true, result: await replayShare(workerData, request) });
} catch (error) {
  parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
