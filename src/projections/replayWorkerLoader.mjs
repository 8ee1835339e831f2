// How a replay worker loads replay.ts (see replayWorker.mjs): one esbuild bundle, else tsx.
//
// The bundle takes about half the start-up time of loading the TypeScript module by module
// through tsx's tsImport (~0.25 s instead of ~0.5 s), which the whole replay waits for. esbuild is
// a dependency of tsx. Packages stay outside the bundle, imported by absolute URL, and every
// bundled module keeps its own import.meta.url (module-relative workers, WebAssembly and
// createRequire still find their files). Anything unusual (no esbuild, a build error, a log that
// is not SQLite) takes tsx's path.
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

async function bundled() {
  const { build } = await import('esbuild');
  const here = dirname(fileURLToPath(import.meta.url));
  const result = await build({
    stdin: { contents: "export { replayShare } from './replay.ts';", resolveDir: here, loader: 'ts', sourcefile: 'replayWorkerEntry.ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    plugins: [
      {
        name: 'fedlog-replay-worker',
        setup(b) {
          // The EventStoreDB adapter (and its client) is only for other locations, which take tsx's path.
          b.onResolve({ filter: /eventStoreDb\.ts$/ }, (args) => ({ path: pathToFileURL(`${args.resolveDir}/${args.path}`).href, external: true }));
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
            if (builtinModules.includes(bare)) return { path: args.path, external: true };
            // A data: module resolves only absolute URLs: each package by the URL Node itself resolves it to.
            return { path: import.meta.resolve(args.path), external: true };
          });
          b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (args) => ({
            contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
            loader: args.path.endsWith('ts') ? 'ts' : 'js',
          }));
        },
      },
    ],
  });
  return import(`data:text/javascript;charset=utf-8,${encodeURIComponent(result.outputFiles[0].text)}`);
}

async function viaTsx() {
  const { tsImport } = await import('tsx/esm/api');
  return tsImport('./replay.ts', import.meta.url);
}

/** replay.ts's exports, and how they were loaded. */
export async function loadReplayModule(location) {
  if (location?.kind !== 'sqlite') return { module: await viaTsx(), loadedBy: 'tsx' };
  try {
    return { module: await bundled(), loadedBy: 'bundle' };
  } catch {
    return { module: await viaTsx(), loadedBy: 'tsx' };
  }
}
