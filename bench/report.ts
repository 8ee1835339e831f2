import { cpus, totalmem, platform, release, arch } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One measured figure. `runs` holds every repetition; `value` is their median. */
export interface BenchRow {
  suite: string;
  name: string;
  unit: string;
  value: number;
  runs: number[];
  /** Optional comparison, e.g. ratio to a baseline measured in the same run. */
  note?: string;
}

export interface BenchSuite {
  name: string;
  run(): Promise<BenchRow[]>;
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Repeats `measure` `times` and returns a row whose value is the median. */
export async function repeat(suite: string, name: string, unit: string, times: number, measure: () => Promise<number> | number, note?: string): Promise<BenchRow> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) runs.push(await measure());
  return medianRow(suite, name, unit, runs, note);
}

/** A row of runs measured elsewhere (e.g. a second figure of the runs `repeat` made): their median. */
export function medianRow(suite: string, name: string, unit: string, runs: number[], note?: string): BenchRow {
  return { suite, name, unit, value: median(runs), runs, ...(note === undefined ? {} : { note }) };
}

export function printTable(rows: BenchRow[]): void {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
  const table = rows.map((r) => ({ suite: r.suite, benchmark: r.name, median: fmt(r.value), unit: r.unit, runs: r.runs.length, note: r.note ?? '' }));
  console.table(table);
}

export function writeResults(dir: string, suite: string, rows: BenchRow[]): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${suite}-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ suite, at: new Date().toISOString(), machine: machine(), rows }, null, 2) + '\n');
  return file;
}
