/**
 * Suite 'apiCache' (issue 16, item 4): does asking for many distinct kept URLs raise a guardian's
 * CPU under load? One guardian process (`fedlog run`, short sessions so that pages of sessions are
 * long) under one `fedlog load` process at a fixed rate for the whole run; the guardian's CPU is
 * measured in three windows of that one run: without queries, while a client GETs 64 distinct
 * pages `/v1/sessions?from=K&limit=1000` every POLL_SECONDS (the attack, more often), and
 * without queries again (the drift of the load itself). FEDLOG_BENCH_SECONDS sets a window's length
 * (default 20).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initFederation } from '../../src/cli/initCommand.ts';
import type { LoadReport } from '../../src/cli/loadGenerator.ts';
import { medianRow, type BenchRow, type BenchSuite } from '../report.ts';
import { cpuSeconds, freePort } from '../processes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUITE = 'apiCache';
const PAGES = 64;
const POLL_SECONDS = 2;
/** Short sessions, so that every page is full (1,000 sessions) after a warm-up of about half a minute. */
const SESSION_SECONDS = 0.02;
const WARM_SESSIONS = PAGES + 1_000;
/** Transactions per second of the load (fixed, so that the windows compare the same work). */
const LOAD_RATE = 400;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cli = (args: string[]): ChildProcess => spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });

/** Resolves when `child` printed a line matching `pattern` on stdout; collects stdout into `out`. */
function printed(child: ChildProcess, pattern: RegExp, out: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out.text += chunk.toString();
      if (pattern.test(out.text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${String(child.spawnargs.slice(3, 4))} exited (${code}) early`)));
  });
}

interface Window {
  guardianCores: number;
  mainThreadCores: number;
  /** Items the guardian accepted per second (its consensus_items_processed_total). */
  itemsPerSecond: number;
  /** Guardian CPU per accepted item: on shared cores a busier guardian may get no more CPU, only fewer items. */
  cpuMsPerItem: number;
  /** Per polling round: the slowest of its 64 answers (ms). */
  roundMs: number[];
  requests: number;
  errors: number;
}

/** Measures the guardian's CPU over `seconds`, polling the kept pages meanwhile when `poll`. */
/** The guardian's accepted items so far, from its /metrics. */
async function itemsProcessed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('consensus_items_processed_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function measure(pid: number, url: string, seconds: number, poll: boolean): Promise<Window> {
  const items = await itemsProcessed(url);
  const cpu = cpuSeconds(pid);
  const main = cpuSeconds(pid, true);
  const started = performance.now();
  const roundMs: number[] = [];
  let requests = 0;
  let errors = 0;
  while (performance.now() - started < seconds * 1000) {
    const round = performance.now();
    if (poll) {
      const answers = await Promise.all(
        Array.from({ length: PAGES }, async (_, k) => {
          const response = await fetch(`${url}/v1/sessions?from=${k}&limit=1000`);
          await response.arrayBuffer();
          return response.ok;
        }),
      );
      requests += answers.length;
      errors += answers.filter((ok) => !ok).length;
      roundMs.push(performance.now() - round);
    }
    await sleep(Math.max(0, Math.min(POLL_SECONDS * 1000 - (performance.now() - round), seconds * 1000 - (performance.now() - started))));
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpuUsed = cpuSeconds(pid) - cpu;
  const accepted = (await itemsProcessed(url)) - items;
  return {
    guardianCores: cpuUsed / elapsed,
    mainThreadCores: (cpuSeconds(pid, true) - main) / elapsed,
    itemsPerSecond: accepted / elapsed,
    cpuMsPerItem: (cpuUsed * 1000) / Math.max(1, accepted),
    roundMs,
    requests,
    errors,
  };
}

async function run(): Promise<BenchRow[]> {
  const seconds = Number(process.env.FEDLOG_BENCH_SECONDS ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-api-cache-'));
  const port = await freePort();
  const { configFiles, adminTokens } = initFederation({ peers: 1, out: dir, sessionSeconds: SESSION_SECONDS, basePort: port - 1 });
  const configFile = configFiles[0]!;
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { api: { port: number } };
  config.api.port = port;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const url = `http://127.0.0.1:${port}`;

  const guardian = cli(['run', '--config', configFile, '--log-level', 'warn']);
  const guardianExited = new Promise((resolve) => guardian.once('exit', resolve));
  let loader: ChildProcess | undefined;
  let loaderExited: Promise<unknown> = Promise.resolve();
  try {
    await printed(guardian, /serving http/, { text: '' });
    // Only once the guardian serves: a load started earlier fails its first requests.
    loader = cli(['load', '--url', url, '--admin-token', adminTokens[0]!, '--duration', String(seconds * 3 + 150), '--rate', String(LOAD_RATE), '--chains', '64', '--seed', '7', '--json']);
    const started = loader;
    loaderExited = new Promise((resolve) => started.once('exit', resolve));
    const loadOut = { text: '' };
    await printed(loader, /"clockStarted":true/, loadOut);
    // Sessions accumulate (every page full) and the load settles before the first window.
    const warmUntil = performance.now() + 120_000;
    while (performance.now() < warmUntil) {
      const { count } = (await (await fetch(`${url}/v1/sessions/count`)).json()) as { count: number };
      if (count >= WARM_SESSIONS) break;
      await sleep(1_000);
    }
    const without = await measure(guardian.pid!, url, seconds, false);
    const withPages = await measure(guardian.pid!, url, seconds, true);
    // A page not asked for 30 s is forgotten by the API front whatever it does after a fold.
    await sleep(35_000);
    const withoutAgain = await measure(guardian.pid!, url, seconds, false);
    const sessions = ((await (await fetch(`${url}/v1/sessions/count`)).json()) as { count: number }).count;
    // The load stops on SIGTERM and prints its report.
    loader.kill('SIGTERM');
    await loaderExited;
    const report = JSON.parse(loadOut.text.trim().split('\n').at(-1) ?? '{}') as LoadReport;

    const row = (name: string, unit: string, value: number, note?: string) => medianRow(SUITE, name, unit, [value], note);
    const note = (w: Window) => `main thread ${w.mainThreadCores.toFixed(2)} cores; ${Math.round(w.itemsPerSecond)} items/s accepted, ${w.cpuMsPerItem.toFixed(2)} ms CPU per item`;
    const baseline = (without.cpuMsPerItem + withoutAgain.cpuMsPerItem) / 2;
    const rounds = withPages.roundMs.sort((a, b) => a - b);
    return [
      row('guardian CPU under load, no queries (before)', 'cores', without.guardianCores, `${note(without)}; load at ${LOAD_RATE} tx/s, sessions of ${SESSION_SECONDS} s`),
      row(`guardian CPU under load, ${PAGES} kept pages of 1,000 sessions every ${POLL_SECONDS} s`, 'cores', withPages.guardianCores, `${note(withPages)}; ${withPages.requests} GETs, ${withPages.errors} errors`),
      row('guardian CPU under load, no queries (after)', 'cores', withoutAgain.guardianCores, note(withoutAgain)),
      row(
        'guardian CPU per accepted item, with the kept pages / without (mean of before and after)',
        'ratio',
        withPages.cpuMsPerItem / baseline,
        'per item: on shared cores a guardian that needs more CPU may get no more, and accepts fewer items instead; issue 16 saw ~0.27 -> 0.9-1.15 cores',
      ),
      row(`one round of ${PAGES} page GETs, median (slowest answer of the round)`, 'ms', rounds[Math.floor(rounds.length / 2)] ?? Number.NaN, `max ${Math.round(rounds.at(-1) ?? Number.NaN)} ms over ${rounds.length} rounds`),
      row('sessions at the end (a page holds up to 1,000)', 'sessions', sessions),
      row('load accepted', 'tx/s', report.acceptedPerSecond, `${report.withdrawals} withdrawals, ${report.errors} errors`),
    ];
  } finally {
    loader?.kill('SIGTERM');
    guardian.kill('SIGTERM');
    await Promise.all([guardianExited, loaderExited]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const suite: BenchSuite = { name: SUITE, run };
export default suite;
