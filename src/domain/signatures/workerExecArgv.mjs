// @ts-check
import process from 'node:process';
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
