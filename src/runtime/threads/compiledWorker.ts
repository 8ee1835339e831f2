import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Worker threads load the compiled JavaScript in dist/ (`npm run build`, run by `npm ci` through
 * `prepare`): Node 20 workers cannot load TypeScript, and a worker that registered a TypeScript
 * loader would start several times slower. Code running from src/ (tsx, vitest) uses the same
 * dist/ files, so they must be built from the current sources.
 */

/** dist/ when this module is the compiled one (…/dist/runtime/threads/compiledWorker.js), else the checkout's dist/. */
const DIST = import.meta.url.endsWith('.js') ? new URL('../../', import.meta.url) : new URL('../../../dist/', import.meta.url);

/** A worker's compiled entry is missing: the build has not run. */
export class WorkerNotBuiltError extends Error {
  override readonly name = 'WorkerNotBuiltError';
  constructor(readonly file: string) {
    super(`${file} does not exist: run \`npm run build\` (it compiles src/ to dist/ for worker threads)`);
  }
}

/**
 * The compiled file of a worker entry, named by its source path under src/ with a `.js` extension
 * (e.g. 'projections/replay/replayWorker.js').
 */
export function compiledWorkerUrl(pathUnderSrc: string): URL {
  const url = new URL(pathUnderSrc, DIST);
  if (!existsSync(url)) throw new WorkerNotBuiltError(fileURLToPath(url));
  return url;
}
