// Build step (npm run build, after tsc): the replay worker's compiled modules and the pure-JavaScript
// packages it uses (rxjs, zod, @noble/*, tree-shaken) as one file, dist/projections/replay/replayWorker.bundle.js.
// The whole replay waits for the worker to load its code, and loading a few hundred modules one by
// one takes several times as long as one bundle. Every bundled module keeps its own import.meta.url
// (its file in dist/), so module-relative workers and createRequire still find their files; other
// packages (better-sqlite3, a native addon) are imported as they are.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(join(root, 'package.json'));
/** Bundled packages, each as the ESM build named here (undefined: what Node resolves it to). */
const BUNDLED = new Map([
  ['rxjs', 'dist/esm/index.js'],
  ['zod', undefined],
]);
const BUNDLED_SCOPES = ['@noble/'];

function bundledPath(specifier) {
  const file = BUNDLED.get(specifier);
  return file === undefined ? fileURLToPath(import.meta.resolve(specifier)) : join(dirname(require.resolve(`${specifier}/package.json`)), file);
}

await build({
  entryPoints: [join(dist, 'projections/replay/replayWorker.js')],
  outfile: join(dist, 'projections/replay/replayWorker.bundle.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [
    {
      name: 'fedlog-replay-worker',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('node:')) return { path: args.path, external: true };
          if (BUNDLED.has(args.path) || BUNDLED_SCOPES.some((scope) => args.path.startsWith(scope))) return { path: bundledPath(args.path) };
          return { path: args.path, external: true };
        });
        // Only the EventStoreDB adapter's import is dynamic and not for a SQLite log: it stays a file of its own.
        b.onResolve({ filter: /eventStoreDb\.js$/ }, (args) => ({ path: pathToFileURL(join(args.resolveDir, args.path)).href, external: true }));
        b.onLoad({ filter: /\.m?js$/ }, async (args) => {
          const source = await readFile(args.path, 'utf8');
          if (!args.path.startsWith(dist)) return { contents: source, loader: 'js' };
          return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'js' };
        });
      },
    },
  ],
});
