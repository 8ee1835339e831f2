/**
 * `npm run bench [suite...]`: runs every suite in bench/suites (or the named ones), prints one
 * table per suite and writes JSON under bench/results/. Figures are medians of several runs.
 */
import { readdirSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine, printTable, writeResults, type BenchSuite } from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(join(here, 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(basename(f, '.ts')))
  .sort();

console.log('machine:', machine());
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, 'suites', file)).href)) as { default: BenchSuite };
  const suite = mod.default;
  console.log(`\n## ${suite.name}`);
  const rows = await suite.run();
  printTable(rows);
  console.log('written:', writeResults(join(here, 'results'), suite.name, rows));
}
