// How a replay worker loads replayParallel.ts (see replayWorker.mjs): one esbuild bundle, else tsx.
//
// The bundle takes about half the start-up time of loading the TypeScript module by module
// through tsx's tsImport (~0.25 s instead of ~0.5 s), which the whole replay waits for. esbuild is
// a dependency of tsx. The pure-JavaScript packages it uses are bundled in (BUNDLED); others stay
// outside, imported by absolute URL. Every bundled module keeps its own import.meta.url
// (module-relative workers, WebAssembly and createRequire still find their files). Anything unusual (no esbuild, a build error, a log that
// is not SQLite) takes tsx's path.
//
// The bundle is kept on disk (node_modules/.cache/fedlog) with the sha256 of every file it was
// built from as esbuild read it (outside node_modules; package-lock.json stands for the packages'
// files), and of this file and package-lock.json, and used again while all
// of them are unchanged: building it took 0.13-0.15 s of the worker's start, which the whole
// replay waits for. Any change to a source file, to esbuild's version or to the checkout's place
// builds it again. A cache that cannot be read or written is passed over (the bundle is then
// built and imported from memory, as without a cache).
import { createHash } from 'node:crypto';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_CACHE = join(here, '..', '..', 'node_modules', '.cache', 'fedlog');
const LOCK_FILE = join(here, '..', '..', 'package-lock.json');
const BUNDLE_FILE = 'replay-worker.mjs';
/** The name esbuild gives the bundle's entry (its text is here, not in a file). */
const ENTRY = 'replayWorkerEntry.ts';
const INPUTS_FILE = 'replay-worker.inputs.json';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/**
 * Pure-JavaScript packages bundled in, tree-shaken (each as the ESM build named here): loaded as
 * packages they cost the worker's start most of its time (rxjs's CommonJS build alone ~80 ms, zod
 * ~70 ms, module by module), where the replay uses a few of their exports. Their files are
 * covered by package-lock.json's hash, not hashed one by one. Other packages (better-sqlite3, a
 * native addon) are imported by absolute URL.
 */
const BUNDLED = new Map([
  ['rxjs', 'dist/esm/index.js'],
  ['zod', undefined],
]);
const BUNDLED_SCOPES = ['@noble/'];
const require = createRequire(import.meta.url);

/** Where a bundled package's import leads: the ESM build named in BUNDLED, else what Node resolves it to. */
function bundledPath(specifier) {
  const file = BUNDLED.get(specifier);
  return file === undefined ? fileURLToPath(import.meta.resolve(specifier)) : join(dirname(require.resolve(`${specifier}/package.json`)), file);
}
const NODE_MODULES = `${join(here, '..', '..', 'node_modules')}/`;

/** esbuild's version, from its package.json: importing esbuild only to ask costs the cached path ~25 ms. */
async function esbuildVersion() {
  return JSON.parse(await readFile(require.resolve('esbuild/package.json'), 'utf8')).version;
}

/** The cached bundle's file if every input it lists still has the same content (and esbuild and the checkout are the same). */
async function cachedBundle(cacheDir, esbuildVersion) {
  try {
    const recorded = JSON.parse(await readFile(join(cacheDir, INPUTS_FILE), 'utf8'));
    if (recorded.esbuild !== esbuildVersion || recorded.here !== here || typeof recorded.inputs !== 'object' || recorded.inputs === null) return undefined;
    const entries = Object.entries(recorded.inputs);
    if (entries.length === 0) return undefined;
    for (const [path, digest] of entries) if (sha256(await readFile(resolve(here, path))) !== digest) return undefined;
    const file = join(cacheDir, BUNDLE_FILE);
    if (sha256(await readFile(file)) !== recorded.bundle) return undefined;
    return file;
  } catch {
    return undefined;
  }
}

/**
 * Writes the bundle and `hashes` (input path relative to this directory -> sha256 of the content
 * it was built from), each file whole under another name, then renamed; undefined where the cache
 * cannot be written.
 */
async function storeBundle(cacheDir, esbuildVersion, text, hashes) {
  try {
    // The directory and its parent (node_modules/.cache), one level at a time: a recursive mkdir can
    // loop on a file system that refuses the directory. A grandparent that does not exist fails here.
    for (const dir of [dirname(cacheDir), cacheDir]) {
      await mkdir(dir).catch((error) => {
        if (error?.code !== 'EEXIST') throw error;
      });
    }
    const suffix = `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const file = join(cacheDir, BUNDLE_FILE);
    await writeFile(file + suffix, text);
    await rename(file + suffix, file);
    const record = JSON.stringify({ esbuild: esbuildVersion, here, bundle: sha256(text), inputs: hashes });
    await writeFile(join(cacheDir, INPUTS_FILE) + suffix, record);
    await rename(join(cacheDir, INPUTS_FILE) + suffix, join(cacheDir, INPUTS_FILE));
    return file;
  } catch {
    return undefined;
  }
}

async function bundled(cacheDir) {
  const version = await esbuildVersion();
  const cached = await cachedBundle(cacheDir, version);
  if (cached !== undefined) return { module: await import(pathToFileURL(cached).href), loadedBy: 'cached bundle' };
  const { build } = await import('esbuild');
  // What the bundle is built from, hashed as read: this file (how it is built), the lock file (which
  // package files it imports), and below each source file as esbuild's load step reads it.
  const hashes = { 'replayWorkerLoader.mjs': sha256(await readFile(fileURLToPath(import.meta.url))) };
  if (existsSync(LOCK_FILE)) hashes[LOCK_FILE] = sha256(await readFile(LOCK_FILE));
  const result = await build({
    stdin: { contents: "export { replayShare } from './replayParallel.ts';", resolveDir: here, loader: 'ts', sourcefile: ENTRY },
    bundle: true,
    write: false,
    metafile: true,
    absWorkingDir: here,
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
            if (BUNDLED.has(args.path) || BUNDLED_SCOPES.some((scope) => args.path.startsWith(scope))) return { path: bundledPath(args.path) };
            // A data: module resolves only absolute URLs: each package by the URL Node itself resolves it to.
            return { path: import.meta.resolve(args.path), external: true };
          });
          b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            if (!args.path.startsWith(NODE_MODULES)) hashes[relative(here, args.path)] = sha256(source);
            return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: args.path.endsWith('ts') ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  const text = result.outputFiles[0].text;
  // Any input esbuild read without the load step above (package files are covered by the lock file's hash).
  for (const path of Object.keys(result.metafile.inputs)) if (path !== ENTRY && !(path in hashes) && !resolve(here, path).startsWith(NODE_MODULES)) hashes[path] = sha256(await readFile(resolve(here, path)));
  const stored = await storeBundle(cacheDir, version, text, hashes);
  const module = await import(stored === undefined ? `data:text/javascript;charset=utf-8,${encodeURIComponent(text)}` : pathToFileURL(stored).href);
  return { module, loadedBy: 'bundle' };
}

async function viaTsx() {
  const { tsImport } = await import('tsx/esm/api');
  return tsImport('./replayParallel.ts', import.meta.url);
}

/** replayParallel.ts's exports, and how they were loaded. `cacheDir`: where the bundle is kept (default node_modules/.cache/fedlog). */
export async function loadReplayModule(location, { cacheDir = DEFAULT_CACHE } = {}) {
  if (location?.kind !== 'sqlite') return { module: await viaTsx(), loadedBy: 'tsx' };
  try {
    return await bundled(cacheDir);
  } catch {
    return { module: await viaTsx(), loadedBy: 'tsx' };
  }
}
