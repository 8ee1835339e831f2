import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// DESIGN.md: src/domain is pure (no I/O, no worker threads) and imports nothing of ours from outside it.
const domainDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'domain');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic), and every require. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const pattern of [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s+['"]([^'"]+)['"]/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const match of source.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

const files = sourceFiles(domainDir).map((path) => ({ name: relative(domainDir, path), path, imports: specifiers(readFileSync(path, 'utf8')) }));

describe('the domain boundary', () => {
  it('finds the domain sources and their imports', () => {
    expect(files.map((f) => f.name)).toContain('encoding.ts');
    expect(files.find((f) => f.name === 'consensusItem.ts')?.imports).toContain('./encoding.ts');
  });

  it('imports no Node built-in module (no file system, network, threads or processes)', () => {
    const builtins = new Set(builtinModules);
    const offending = files.flatMap((f) => f.imports.filter((s) => s.startsWith('node:') || builtins.has(s.split('/')[0]!)).map((s) => `${f.name}: ${s}`));
    expect(offending).toEqual([]);
  });

  it('imports nothing of ours from outside src/domain', () => {
    const outside = files.flatMap((f) =>
      f.imports.filter((s) => s.startsWith('.') && relative(domainDir, resolve(dirname(f.path), s)).startsWith('..')).map((s) => `${f.name}: ${s}`),
    );
    expect(outside).toEqual([]);
  });

  it('keeps the generic core free of the concrete modules: only the modules themselves and the index import them', () => {
    const core = files.filter((f) => !f.name.startsWith('modules/') && f.name !== 'index.ts');
    expect(core.map((f) => f.name)).toEqual(expect.arrayContaining(['consensusItem.ts', 'transaction.ts', 'sessionOutcome.ts', 'ledger.ts']));
    const offending = core.flatMap((f) => f.imports.filter((s) => resolve(dirname(f.path), s).startsWith(join(domainDir, 'modules'))).map((s) => `${f.name}: ${s}`));
    expect(offending).toEqual([]);
  });
});
