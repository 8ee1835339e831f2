// @ts-check
import process from 'node:process';
import { Worker } from 'node:worker_threads';
/**
 * The Node options for a worker thread that loads plain JavaScript (every worker of this project:
 * the signature verification workers, the SQLite writer, the API front thread, the replay worker):
 * this process's options without the ones that load tsx (`--import tsx`, or the
 * `--require …/tsx/dist/preflight.cjs --import …/tsx/dist/loader.mjs` of the tsx command). A worker
 * inherits its process's options by default, and tsx's module hooks then handle every import the
 * worker makes: measured on the replay worker, importing its bundle took 0.32 s with them and
 * 0.16-0.19 s without. A worker that needs TypeScript (the replay worker's fallback) registers
 * tsx itself. Plain JavaScript because Node 20 workers cannot load .ts.
 *
 * @param {readonly string[]} [execArgv]
 * @returns {string[]}
 */
export function workerExecArgv(execArgv = process.execArgv) {
  /** @param {string} value */
  const loadsTsx = (value) => value === 'tsx' || /(^|[/\\])tsx[/\\]/.test(value);
  /** @type {string[]} */
  const out = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = /** @type {string} */ (execArgv[i]);
    const joined = /^--(import|require|loader|experimental-loader)=(.*)$/.exec(arg);
    if (joined !== null) {
      if (!loadsTsx(/** @type {string} */ (joined[2]))) out.push(arg);
      continue;
    }
    if (['--import', '--require', '-r', '--loader', '--experimental-loader'].includes(arg) && i + 1 < execArgv.length) {
      const value = /** @type {string} */ (execArgv[i + 1]);
      if (!loadsTsx(value)) out.push(arg, value);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Options a worker refused (V8 and process-wide flags such as `--max-old-space-size`), learned once per process. */
const refused = new Set();

/**
 * `new Worker(url, { ...options, execArgv: workerExecArgv(execArgv) })`, without the options a
 * worker refuses. A worker accepts only per-thread Node options: the V8 and process-wide flags a
 * process may be started with (`node --max-old-space-size=8192 …`) already apply to every thread,
 * and naming them to a worker throws ERR_WORKER_INVALID_EXEC_ARGV, which lists them. They are left
 * out, remembered, and the worker is made again.
 *
 * @param {string | URL} url
 * @param {import('node:worker_threads').WorkerOptions} [options]
 * @param {readonly string[]} [execArgv]
 * @returns {Worker}
 */
export function newWorker(url, options = {}, execArgv = process.execArgv) {
  const accepted = () => workerExecArgv(execArgv).filter((arg) => !refused.has(arg));
  try {
    return new Worker(url, { ...options, execArgv: accepted() });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const listed = /** @type {{ code?: unknown }} */ (error).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.*)$/.exec(message) : null;
    if (listed === null) throw error;
    for (const flag of /** @type {string} */ (listed[1]).split(', ')) refused.add(flag);
    return new Worker(url, { ...options, execArgv: accepted() });
  }
}
