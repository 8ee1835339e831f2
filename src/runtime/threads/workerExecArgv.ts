import process from 'node:process';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The Node options for a worker thread that loads plain JavaScript (every worker of this project:
 * the signature verification workers, the SQLite writer, the API front thread, the replay worker):
 * this process's options without the ones that load tsx (`--import tsx`, or the
 * `--require …/tsx/dist/preflight.cjs --import …/tsx/dist/loader.mjs` of the tsx command). A worker
 * inherits its process's options by default, and tsx's module hooks would then handle every import
 * of a worker that loads only compiled JavaScript, slowing its start.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const loadsTsx = (value: string) => value === 'tsx' || /(^|[/\\])tsx[/\\]/.test(value);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const joined = /^--(import|require|loader|experimental-loader)=(.*)$/.exec(arg);
    if (joined !== null) {
      if (!loadsTsx(joined[2]!)) out.push(arg);
      continue;
    }
    if (['--import', '--require', '-r', '--loader', '--experimental-loader'].includes(arg) && i + 1 < execArgv.length) {
      const value = execArgv[i + 1]!;
      if (!loadsTsx(value)) out.push(arg, value);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Options a worker refused (V8 and process-wide flags such as `--max-old-space-size`), learned once per process. */
const refused = new Set<string>();

/**
 * `new Worker(url, { ...options, execArgv: workerExecArgv(execArgv) })`, without the options a
 * worker refuses. A worker accepts only per-thread Node options: the V8 and process-wide flags a
 * process may be started with (`node --max-old-space-size=8192 …`) already apply to every thread,
 * and naming them to a worker throws ERR_WORKER_INVALID_EXEC_ARGV, which lists them. They are left
 * out, remembered, and the worker is made again.
 */
export function newWorker(url: string | URL, options: WorkerOptions = {}, execArgv: readonly string[] = process.execArgv): Worker {
  const accepted = () => workerExecArgv(execArgv).filter((arg) => !refused.has(arg));
  try {
    return new Worker(url, { ...options, execArgv: accepted() });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const listed = (error as { code?: unknown }).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.*)$/.exec(message) : null;
    if (listed === null) throw error;
    for (const flag of listed[1]!.split(', ')) refused.add(flag);
    return new Worker(url, { ...options, execArgv: accepted() });
  }
}
