// The worker thread of a two-thread replay (loaded compiled from dist/, see compiledWorker.ts): it
// starts before the calling thread knows its share, so its code loads meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import type { ReplayLogLocation } from './replayOptions.ts';
import { workerShare, type WorkerShareRequest } from './twoThreads.ts';

if (parentPort === null) throw new Error('replayWorker must run as a worker thread');
const port = parentPort;
const request = await new Promise<WorkerShareRequest>((resolve) => port.once('message', resolve));
try {
  port.postMessage({ ok: true, result: await workerShare(workerData as ReplayLogLocation, request) });
} catch (error) {
  port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
