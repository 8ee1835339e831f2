import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Worker threads load the compiled JavaScript in dist/ (src/runtime/threads/compiledWorker.ts):
 * built here from the current sources before any test starts one (`npm run build`: incremental tsc,
 * then the replay worker's bundle).
 */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts', 'bundleReplayWorker.mjs')], { cwd: root, stdio: 'inherit' });
}
