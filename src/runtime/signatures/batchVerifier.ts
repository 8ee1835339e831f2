import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { SchnorrBackend, SignatureCheck } from '../../domain/signatureBackend.ts';
import { packChecks } from './checkBuffer.ts';
import { fastestBackend, type FallbackReporter } from './fastest.ts';
import { NATIVE_SECP_NAME, TINY_SECP_NAME } from './libsecpSchnorr.ts';
import { compiledWorkerUrl } from '../threads/compiledWorker.ts';
import { newWorker } from '../threads/workerExecArgv.ts';

/**
 * Batches smaller than this are verified on the calling thread. Measured on the 2-core reference
 * machine (tiny-secp256k1, warm workers, best of 30, both cores free): 1 check inline 0.23 ms vs
 * workers 0.27 ms; 2: 0.44 vs 0.29; 4: 0.87 vs 0.51; 8: 1.76 vs 0.99; 64: 14.2 vs 7.3. So workers win
 * from 2 checks on an idle machine, but when the other core is busy they only add the round trip
 * (~0.06-0.1 ms; the bench's median crossover then moved between 4 and 64). From 8 checks the gain
 * when free (~0.8 ms, 45%) far outweighs that worst-case loss (~6%). With native libsecp256k1
 * (0.07 ms a check) a batch's own latency favours inline longer: workers/inline 6.3x at 1 check,
 * 1.5x at 8, 1.4x at 16, 0.84x at 64 on a quiet machine (3.6x, 0.89x, 0.71x at 1, 8, 64 on a loaded
 * one). 8 stays: in a guardian a batch verified inline runs on the session loop's thread, the one
 * the whole pipeline waits for, while a worker's time is spent on the other core. Re-measure with
 * `npm run bench -- signatures` (the "worker time / inline time" rows).
 */
export const INLINE_BELOW = 8;

export interface BatchVerifyOptions {
  /** 'auto' (default): inline below the threshold, on worker threads from it. */
  mode?: 'auto' | 'inline' | 'workers';
  /** Rejects the batch with the signal's reason; chunks already on a worker finish unobserved. */
  signal?: AbortSignal;
}

export interface BatchVerifier {
  /** One answer per check, in order; same answers as `backend.verify` on each check. */
  verifyBatch(checks: readonly SignatureCheck[], options?: BatchVerifyOptions): Promise<boolean[]>;
  /** Terminates the worker threads; pending and later batches reject with BatchVerifierClosedError. */
  close(): Promise<void>;
  /** The number of worker threads large batches are spread over (started on first use). */
  readonly workers: number;
}

export interface BatchVerifierOptions {
  /** Worker threads to spread large batches over; default: the machine's available parallelism. 0 = always inline. */
  workers?: number;
  /** Default fastestBackend(). Workers can only run 'noble', 'tiny-secp256k1' or 'libsecp256k1' (they load them by name). */
  backend?: SchnorrBackend;
  /** Default INLINE_BELOW. */
  inlineBelow?: number;
  /** Told once if a worker could not load the backend asked for and verifies with a slower one. */
  onFallback?: FallbackReporter;
  /**
   * Fewest checks per worker message (default 1: a batch is spread over every worker). Each
   * message wakes a worker; a caller whose batches are small and whose own thread matters more
   * than one batch's latency (a guardian's event loop) sends a small batch to one worker whole.
   */
  minChunk?: number;
  /**
   * A nice value for the worker threads alone (Linux; best effort elsewhere), e.g. 10 so that a
   * woken worker never takes a core from the thread that feeds it. Default: the process's priority.
   */
  workerPriority?: number;
}

export class BatchVerifierClosedError extends Error {
  constructor() {
    super('the batch verifier was closed');
    this.name = 'BatchVerifierClosedError';
  }
}

interface Chunk {
  buffer: ArrayBuffer;
  resolve(results: Uint8Array): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  busy?: { id: number; chunk: Chunk };
  lastError?: unknown;
}

type WorkerMessage = { ready: true; backend: string; fallbackReason?: string } | { id: number; results: ArrayBuffer };

const WORKER_BACKENDS = new Set(['noble', TINY_SECP_NAME, NATIVE_SECP_NAME]);
// A few chunks per worker so a worker slowed by other load on the machine does not hold the batch back.
const CHUNKS_PER_WORKER = 4;
const MIN_CHUNK = 64;

export function createBatchVerifier(options: BatchVerifierOptions = {}): BatchVerifier {
  const backend = options.backend ?? fastestBackend(options.onFallback);
  const size = options.workers ?? availableParallelism();
  const inlineBelow = options.inlineBelow ?? INLINE_BELOW;
  const minChunk = options.minChunk ?? 1;
  if (!Number.isInteger(minChunk) || minChunk < 1) throw new RangeError(`minChunk must be a positive integer, got ${minChunk}`);
  const onFallback = options.onFallback ?? ((reason: string) => console.warn(`signatures: verification worker ${reason}`));
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`workers must be a non-negative integer, got ${size}`);
  if (size > 0 && !WORKER_BACKENDS.has(backend.name)) {
    throw new TypeError(`worker threads can only run the noble, ${TINY_SECP_NAME} or ${NATIVE_SECP_NAME} backends, not '${backend.name}'`);
  }

  const pool: PoolWorker[] = [];
  let queue: Chunk[] = [];
  let nextId = 0;
  let closed = false;
  let fallbackReported = false;

  function spawn(): PoolWorker {
    const entry: PoolWorker = { worker: newWorker(compiledWorkerUrl('runtime/signatures/verifyWorker.js'), { workerData: { backend: backend.name, ...(options.workerPriority === undefined ? {} : { priority: options.workerPriority }) } }) };
    entry.worker.on('message', (message: WorkerMessage) => {
      if ('ready' in message) {
        if (message.fallbackReason !== undefined && !fallbackReported) {
          fallbackReported = true;
          onFallback(message.fallbackReason);
        }
        return;
      }
      const busy = entry.busy;
      if (busy?.id !== message.id) return;
      entry.busy = undefined;
      entry.worker.unref();
      busy.chunk.resolve(new Uint8Array(message.results));
      dispatch();
    });
    entry.worker.on('error', (error) => {
      entry.lastError = error;
    });
    entry.worker.on('exit', (code) => {
      const index = pool.indexOf(entry);
      if (index >= 0) pool.splice(index, 1);
      if (entry.busy) entry.busy.chunk.reject(closed ? new BatchVerifierClosedError() : (entry.lastError ?? new Error(`verification worker exited with code ${code}`)));
      entry.busy = undefined;
      if (!closed) dispatch();
    });
    // Idle workers must not keep the process alive; a worker holding a chunk is ref'd (see assign).
    // After the listeners: adding a 'message' listener refs the worker again.
    entry.worker.unref();
    pool.push(entry);
    return entry;
  }

  function assign(entry: PoolWorker, chunk: Chunk): void {
    const id = nextId++;
    entry.busy = { id, chunk };
    entry.worker.ref();
    entry.worker.postMessage({ id, buffer: chunk.buffer }, [chunk.buffer]);
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const idle = pool.find((w) => !w.busy) ?? (pool.length < size ? spawn() : undefined);
      if (!idle) return;
      assign(idle, queue.shift()!);
    }
  }

  function onWorkers(checks: readonly SignatureCheck[], signal: AbortSignal | undefined): Promise<boolean[]> {
    const chunkCount = Math.max(Math.min(Math.ceil(checks.length / minChunk), size), Math.min(size * CHUNKS_PER_WORKER, Math.ceil(checks.length / MIN_CHUNK)));
    const chunkSize = Math.ceil(checks.length / chunkCount);
    return new Promise<boolean[]>((resolve, reject) => {
      const answers = new Array<boolean>(checks.length);
      const mine: Chunk[] = [];
      let remaining = 0;
      let settled = false;
      const finish = () => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: unknown) => {
        if (settled) return;
        finish();
        queue = queue.filter((c) => !mine.includes(c));
        reject(error);
      };
      const onAbort = () => fail(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (let start = 0; start < checks.length; start += chunkSize) {
        const part = checks.slice(start, start + chunkSize);
        remaining++;
        const chunk: Chunk = {
          buffer: packChecks(part),
          resolve(results) {
            if (settled) return;
            if (results.length !== part.length) return fail(new Error(`worker answered ${results.length} checks for ${part.length}`));
            results.forEach((r, i) => (answers[start + i] = r === 1));
            if (--remaining === 0) {
              finish();
              resolve(answers);
            }
          },
          reject: fail,
        };
        mine.push(chunk);
      }
      queue.push(...mine);
      dispatch();
    });
  }

  return {
    workers: size,
    async verifyBatch(checks, { mode = 'auto', signal } = {}) {
      if (closed) throw new BatchVerifierClosedError();
      signal?.throwIfAborted();
      if (checks.length === 0) return [];
      const inline = mode === 'inline' || (mode === 'auto' && (size === 0 || checks.length < inlineBelow));
      if (inline) return checks.map((c) => backend.verify(c.signature, c.message, c.publicKey));
      if (size === 0) throw new RangeError("mode 'workers' needs a verifier created with workers > 0");
      return onWorkers(checks, signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      const pending = queue;
      queue = [];
      for (const chunk of pending) chunk.reject(new BatchVerifierClosedError());
      // 'exit' rejects the chunks still on a worker.
      await Promise.all(pool.map((w) => w.worker.terminate()));
    },
  };
}
