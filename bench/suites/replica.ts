/**
 * Suite 'replica' (issue 17): what read replicas take off a guardian. One guardian process
 * (`fedlog run`, 0.5 s sessions) under one `fedlog load` process at a fixed rate for the whole run,
 * followed by two `fedlog follow` processes. In windows of that one run, analyst queries
 * (GET /v1/audit/history of the first 50 sessions, GET /v1/sessions?limit=100) are sent open loop
 * at a fixed rate (loadtest) to: the guardian alone; one replica alone; the guardian and the two
 * replicas, a third of the rate each. Per window: p50/p99 per target and the guardian's CPU, so
 * the rows show both how fast analysts are answered and what their queries cost the guardian.
 * FEDLOG_BENCH_SECONDS sets a window's length (default 10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTest } from 'loadtest';
import { initFederation } from '../../src/cli/initCommand.ts';
import { medianRow, type BenchRow, type BenchSuite } from '../report.ts';
import { cpuSeconds, freePort } from '../processes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUITE = 'replica';
const SESSION_SECONDS = 0.5;
const LOAD_RATE = 100;
/** Analyst requests per second in every window, over all targets. */
const QUERY_RATE = 300;
const WARM_SESSIONS = 60;
const QUERIES = [
  { name: 'GET /v1/audit/history (50 sessions)', path: '/v1/audit/history?from=0&to=49' },
  { name: 'GET /v1/sessions (100)', path: '/v1/sessions?from=0&limit=100' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cli = (args: string[]): ChildProcess => spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });

function printed(child: ChildProcess, pattern: RegExp): Promise<void> {
  let text = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${String(child.spawnargs.slice(3, 4))} exited (${code}) early`)));
  });
}

/** What `loadTest` resolves to when called without a callback (loadtest 8). */
interface LoadTestResult {
  totalRequests: number;
  totalErrors: number;
  percentiles: Record<number, number>;
}

async function openLoop(url: string, rate: number, seconds: number): Promise<{ p50: number; p99: number; requests: number; errors: number }> {
  const run = loadTest as unknown as (options: Record<string, unknown>) => Promise<LoadTestResult>;
  // One request first: the API front keeps an answer only once it was asked for (see suite guardian).
  await (await fetch(url)).arrayBuffer();
  await sleep(500);
  const measured = await run({ url, requestsPerSecond: rate, maxSeconds: seconds, agentKeepAlive: true, quiet: true });
  return { p50: measured.percentiles[50] ?? Number.NaN, p99: measured.percentiles[99] ?? Number.NaN, requests: measured.totalRequests, errors: measured.totalErrors };
}

async function run(): Promise<BenchRow[]> {
  const seconds = Number(process.env.FEDLOG_BENCH_SECONDS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-replica-'));
  const port = await freePort();
  const { configFiles, adminTokens } = initFederation({ peers: 1, out: join(dir, 'guardian'), sessionSeconds: SESSION_SECONDS, basePort: port - 1 });
  const config = JSON.parse(readFileSync(configFiles[0]!, 'utf8')) as { api: { port: number } };
  config.api.port = port;
  writeFileSync(configFiles[0]!, JSON.stringify(config, null, 2));
  const guardianUrl = `http://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = cli(args);
    children.push(child);
    return child;
  };
  try {
    const guardian = start(['run', '--config', configFiles[0]!, '--log-level', 'warn']);
    await printed(guardian, /serving http/);
    const loader = start(['load', '--url', guardianUrl, '--admin-token', adminTokens[0]!, '--duration', '100000', '--rate', String(LOAD_RATE), '--chains', '32', '--seed', '7', '--json']);
    await printed(loader, /"clockStarted":true/);
    const replicaUrls: string[] = [];
    const replicaPids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const replicaPort = await freePort();
      const replica = start(['follow', '--from', guardianUrl, '--data', join(dir, `replica-${i}`), '--port', String(replicaPort), '--log-level', 'warn']);
      await printed(replica, /serving http/);
      replicaPids.push(replica.pid!);
      replicaUrls.push(`http://127.0.0.1:${replicaPort}`);
    }
    const replicaStatus = async (url: string) => (await (await fetch(`${url}/v1/replica`)).json()) as { sessions: number; lagSessions?: number };
    for (const until = performance.now() + 120_000; performance.now() < until; await sleep(500)) {
      const behind = await Promise.all(replicaUrls.map(replicaStatus));
      if (behind.every((s) => s.sessions >= WARM_SESSIONS)) break;
    }

    const rows: BenchRow[] = [];
    const row = (name: string, unit: string, value: number, note?: string) => rows.push(medianRow(SUITE, name, unit, [value], note));
    const windows = [
      { name: 'guardian alone', targets: [guardianUrl] },
      { name: 'one replica', targets: [replicaUrls[0]!] },
      { name: 'guardian + 2 replicas', targets: [guardianUrl, ...replicaUrls] },
    ];
    for (const query of QUERIES) {
      for (const window of windows) {
        const cpu = cpuSeconds(guardian.pid);
        const replicaCpu = replicaPids.map((pid) => cpuSeconds(pid));
        const began = performance.now();
        const rate = QUERY_RATE / window.targets.length;
        const results = await Promise.all(window.targets.map((target) => openLoop(target + query.path, rate, seconds)));
        const elapsed = (performance.now() - began) / 1000;
        const cores = (cpuSeconds(guardian.pid) - cpu) / elapsed;
        const replicaCores = replicaPids.map((pid, i) => (cpuSeconds(pid) - replicaCpu[i]!) / elapsed);
        const worst = results.reduce((a, b) => (b.p99 > a.p99 ? b : a));
        const requests = results.reduce((sum, r) => sum + r.requests, 0);
        const errors = results.reduce((sum, r) => sum + r.errors, 0);
        const per = results.map((r, i) => `${window.targets[i] === guardianUrl ? 'guardian' : `replica ${replicaUrls.indexOf(window.targets[i]!)}`} p50 ${r.p50} p99 ${r.p99}`).join('; ');
        row(`${query.name}, ${window.name}: p50`, 'ms', Math.max(...results.map((r) => r.p50)), `${QUERY_RATE} req/s open loop over ${window.targets.length} target(s); ${per}`);
        row(`${query.name}, ${window.name}: p99 (worst target)`, 'ms', worst.p99, `${requests} requests, ${errors} errors; whole ms, rounded down (loadtest)`);
        row(`${query.name}, ${window.name}: guardian CPU`, 'cores', cores, `with the load at ${LOAD_RATE} tx/s, sessions of ${SESSION_SECONDS} s`);
        row(`${query.name}, ${window.name}: replicas' CPU`, 'cores', replicaCores.reduce((a, b) => a + b, 0), `per replica ${replicaCores.map((c) => c.toFixed(2)).join(', ')} (following, and answering when targeted)`);
      }
    }
    const lags = await Promise.all(replicaUrls.map(replicaStatus));
    row('replica lag at the end (worst of two)', 'sessions', Math.max(...lags.map((s) => s.lagSessions ?? Number.NaN)), `replicas at ${lags.map((s) => s.sessions).join(', ')} sessions`);
    return rows;
  } finally {
    for (const child of children.reverse()) {
      const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const suite: BenchSuite = { name: SUITE, run };
export default suite;
