/**
 * Suite 'guardian': one guardian process (`fedlog run`, embedded SQLite log) under `fedlog load`
 * (its own process) over HTTP: accepted 1-input transactions per second, submit-to-accepted latency
 * and the CPU each process used (FEDLOG_BENCH_SUBMIT picks the load's submit mode); meanwhile the
 * p50/p99 of GET /v1/audit and GET /v1/sessions under that load (autocannon); afterwards `replay`
 * over the log the run produced. FEDLOG_BENCH_SECONDS shortens the load phase (default 60, the
 * issue's figure). Goals: >= 3,000 tx/s, replay >= 150,000 events/s, query p99 < 20 ms.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { initFederation } from '../../src/cli/initCommand.ts';
import type { LoadReport, SubmitMode } from '../../src/cli/loadGenerator.ts';
import { loadGuardianConfig, sqliteLogPath } from '../../src/consensus/config.ts';
import { replay } from '../../src/projections/replay.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUITE = 'guardian';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function query(url: string, seconds: number): Promise<{ p50: number; p99: number; rps: number }> {
  const result = await autocannon({ url, connections: 8, duration: seconds });
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average };
}

/** CPU seconds (user + system) a live process used so far, from /proc; NaN where there is no /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return Number.NaN;
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const row = (name: string, unit: string, value: number, note?: string): BenchRow => ({ suite: SUITE, name, unit, value, runs: [value], ...(note === undefined ? {} : { note }) });

const suite: BenchSuite = {
  name: SUITE,
  async run() {
    const seconds = Number(process.env.FEDLOG_BENCH_SECONDS ?? 60);
    // FEDLOG_BENCH_SUBMIT=classic measures the two-request path (POST, then GET ?wait=) for comparison.
    const submitMode = (process.env.FEDLOG_BENCH_SUBMIT ?? 'batch') as SubmitMode;
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-'));
    try {
      const port = await freePort();
      const { configFiles, adminTokens } = initFederation({ peers: 1, out: dir, sessionSeconds: 10, basePort: port - 1 });
      const configFile = configFiles[0]!;
      const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { api: { port: number }; queueCapacity: number };
      raw.api.port = port;
      writeFileSync(configFile, JSON.stringify(raw, null, 2));
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'run', '--config', configFile, '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('serving http')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`guardian exited (${code})`)));
      });

      // `fedlog load` in its own process, as an operator runs it, so each process's CPU can be told apart.
      const loader = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'load', '--url', url, '--admin-token', adminTokens[0]!, '--duration', String(seconds), '--chains', '256', '--seed', '7', '--submit', submitMode, '--json'],
        { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let loadOut = '';
      loader.stdout.on('data', (chunk: Buffer) => (loadOut += chunk.toString()));
      const loadExited = new Promise<number | null>((resolve) => loader.once('exit', resolve));
      const guardianCpuBefore = cpuSeconds(child.pid);
      const loadStarted = performance.now();
      // Queries under load: after a warm-up, a few seconds each while the load runs.
      const querySeconds = Math.max(2, Math.min(5, Math.floor(seconds / 4)));
      await new Promise((resolve) => setTimeout(resolve, Math.min(5, seconds / 4) * 1000));
      const audit = await query(`${url}/v1/audit`, querySeconds);
      const sessions = await query(`${url}/v1/sessions?from=0&limit=20`, querySeconds);
      // Sampled just before the load ends (a process's counters vanish with it).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000 - 500 - (performance.now() - loadStarted))));
      const window = (performance.now() - loadStarted) / 1000;
      const guardianCores = (cpuSeconds(child.pid) - guardianCpuBefore) / window;
      const loaderCores = cpuSeconds(loader.pid) / window;
      await loadExited;
      const report = JSON.parse(loadOut.trim().split('\n').at(-1) ?? '{}') as LoadReport;
      child.kill('SIGTERM');
      await exited;

      const config = loadGuardianConfig(configFile);
      const replayRow = await repeat(SUITE, 'replay (fedlog replay, from position 0)', 'events/s', 3, async () => {
        const log = await openEventLog({ kind: 'sqlite', path: sqliteLogPath(config) }, { guardian: 0 });
        try {
          const result = await replay(log);
          if (!result.ok) throw new Error(`replay found mismatches: ${JSON.stringify(result.problems.slice(0, 3))}`);
          return result.events / (result.durationMs / 1000);
        } finally {
          await log.close();
        }
      });
      return [
        row(`accepted 1-input tx/s under fedlog load (256 users, HTTP, --submit ${submitMode})`, 'tx/s', report.acceptedPerSecond, `${seconds} s; goal >= 3,000; ${report.accepted} accepted, ${report.errors} errors${report.firstError === undefined ? '' : ` (first: ${report.firstError.slice(0, 80)})`}`),
        row('submit-to-accepted latency p50', 'ms', report.latencyMs.p50),
        row('submit-to-accepted latency p99', 'ms', report.latencyMs.p99),
        row('double spends accepted', 'count', report.doubleSpendsAccepted, `of ${report.doubleSpendAttempts} attempts; must be 0`),
        row('guardian process CPU during load', 'cores', guardianCores, 'of 2; main thread + signature workers'),
        row('fedlog load process CPU during load', 'cores', loaderCores, `of 2; --submit ${submitMode}; includes its start-up`),
        row('GET /v1/audit p50 under load', 'ms', audit.p50, `${Math.round(audit.rps)} req/s, 8 connections`),
        row('GET /v1/audit p99 under load', 'ms', audit.p99, 'goal < 20 ms'),
        row('GET /v1/sessions p50 under load', 'ms', sessions.p50, `${Math.round(sessions.rps)} req/s, 8 connections`),
        row('GET /v1/sessions p99 under load', 'ms', sessions.p99, 'goal < 20 ms'),
        { ...replayRow, note: 'goal >= 150,000 events/s' },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
