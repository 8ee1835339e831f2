// A share of `replay` on a worker thread (loaded compiled from dist/, see compiledWorker.ts): opens
// the same log itself and does the share it is asked for. It starts before the calling thread knows
// that share, so its code loads meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { replayShare, type ReplayShareRequest, type ReplayWorkerData } from './replayParallel.ts';

if (parentPort === null) throw new Error('replayWorker must run as a worker thread');
const port = parentPort;
const request = await new Promise<ReplayShareRequest>((resolve) => port.once('message', resolve));
try {
  port.postMessage({ ok: true, result: await replayShare(workerData as ReplayWorkerData, request) });
} catch (error) {
  port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
