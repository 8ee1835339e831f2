/**
 * Suite 'guardian': one guardian process (`fedlog run`, embedded SQLite log) under `fedlog load`
 * (its own process) over HTTP: accepted 1-input transactions per second, submit-to-accepted latency
 * and the CPU each process used (FEDLOG_BENCH_SUBMIT picks the load's submit mode); meanwhile the
 * p50/p99 of GET /v1/audit and GET /v1/sessions under that load (loadtest sending an open-loop,
 * evenly spaced QUERY_RATE, the client at a raised priority: see QUERY_CLIENT_PRIORITY); afterwards
 * `fedlog replay` over the log the run produced, and the floor of any replay of that log
 * (bench/replayFloor.ts). FEDLOG_BENCH_SECONDS shortens the load phase (default 60, the issue's
 * figure). Goals: >= 3,000 tx/s, replay >= 150,000 events/s, query p99 < 20 ms.
 *
 * Then the same load once more with a client that signed its transactions before its clock started
 * (`fedlog load --sign-ahead`), reported in rows of its own: client signing (~0.2 ms per
 * transaction) moves out of the measured window, because here the client shares the guardian's two
 * cores, which a real deployment's clients do not. The first rows stay the default, honest figure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTest } from 'loadtest';
import { initFederation } from '../../src/cli/initCommand.ts';
import type { LoadReport, SubmitMode } from '../../src/cli/loadGenerator.ts';
import { loadGuardianConfig, sqliteLogPath } from '../../src/consensus/config.ts';
import { replay } from '../../src/projections/replay/replay.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { budgetMicros, replayFloor } from '../replayFloor.ts';
import { machine, medianRow, repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { cpuSeconds, freePort } from '../processes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUITE = 'guardian';

/** What `fedlog replay --json` prints (the fields used here). */
interface ReplayJson {
  ok: boolean;
  events: number;
  durationMs: number;
  cpuMs: number;
  problems: unknown[];
}

/** Runs `fedlog replay --data <dir> --json` and returns the report it prints (its last line). */
async function replayCommand(data: string): Promise<ReplayJson> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'replay', '--data', data, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 && !last.startsWith('{')) throw new Error(`fedlog replay exited ${code}`);
  return JSON.parse(last) as ReplayJson;
}

/**
 * Requests per second of the query phases. A fixed rate, not closed-loop connections: closed loop,
 * the query load grew with answer speed (about 750 req/s while queries waited for the session
 * loop's thread, 6,000-9,000 once the API front answered them), taking CPU from the load being
 * measured and making runs incomparable; and closed-loop latencies omit the requests a slow answer
 * held back (coordinated omission).
 *
 * The client is loadtest (`requestsPerSecond`): it starts a request every 1/QUERY_RATE s whether
 * or not earlier ones have been answered (opening another keep-alive connection when all are
 * busy), so a stall of the guardian delays every request sent during it, and each is counted with
 * its own latency. autocannon, used before, is not open loop at a fixed rate: each connection sends
 * its share of the second back to back and then waits for the next second, and its correction for
 * coordinated omission assumes one request per millisecond per connection (`Math.ceil(1 / rate)`
 * with `rate` per second), so one 30 ms answer was counted as thirty answers of 1..30 ms. Measured
 * in the same runs (24 s load, 1,000 req/s, 5,000 requests), its p99 for GET /v1/audit was 16-17 ms
 * where the answers' own p99 was 5.7-6.3 ms and 4-6 answers took over 20 ms.
 */
const QUERY_RATE = 1_000;

/**
 * The nice value the query client (loadtest, on this process's main thread) runs at while it
 * measures. Here it shares two cores with the guardian and a closed-loop load client that keep
 * them busy, which no deployment's clients do: at the default priority a request's latency
 * includes the client's own waits for a core (tens of milliseconds at times), which is not the
 * guardian's latency. The guardian's front thread asks for the same priority (config
 * `api.frontPriority`). Raising priority needs CAP_SYS_NICE; without it the client runs as is and
 * the rows say so.
 */
const QUERY_CLIENT_PRIORITY = -10;

/** Runs `measure` with this thread at `nice` if permitted (restored afterwards); tells which priority it ran at. */
async function atPriority<T>(nice: number, measure: () => Promise<T>): Promise<{ result: T; nice: number }> {
  const before = getPriority();
  let at = before;
  try {
    setPriority(nice);
    at = nice;
  } catch {
    // Not permitted: measured at the process's priority.
  }
  try {
    return { result: await measure(), nice: at };
  } finally {
    if (at !== before) setPriority(before);
  }
}

/** What `loadTest` resolves to when called without a callback (loadtest 8; its bundled types describe only the callback form). */
interface LoadTestResult {
  totalRequests: number;
  totalErrors: number;
  /** Whole milliseconds (each latency rounded down), keyed by percentile. */
  percentiles: Record<number, number>;
  maxLatencyMs: number;
}

/**
 * How long the query phases wait after the first request of a URL. The API front thread keeps the
 * answer of a cached route's URL only once that URL has been asked for (and forgets it after 30 s
 * unasked): the first request, and every one sent before the main thread has pushed the kept
 * answer, is passed through to the main thread, which under load answers in tens of milliseconds
 * (up to about 130 ms seen). Measured open loop at 1,000 req/s, those first 50-100 requests alone
 * decided p99 in some runs (the requests over 20 ms were the phase's first 70). The phases measure
 * an analyst polling a URL, so each starts after one request to it and this pause; that first
 * request's latency is reported in a row of its own.
 */
const WARM_UP_MS = 500;

async function query(url: string, seconds: number): Promise<{ p50: number; p99: number; max: number; rps: number; errors: number; clientNice: number; firstMs: number }> {
  const run = loadTest as unknown as (options: Record<string, unknown>) => Promise<LoadTestResult>;
  const { result, nice } = await atPriority(QUERY_CLIENT_PRIORITY, async () => {
    const started = performance.now();
    const first = await fetch(url);
    await first.arrayBuffer();
    const firstMs = performance.now() - started;
    if (!first.ok) throw new Error(`GET ${url} answered ${first.status}`);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    return { firstMs, measured: await run({ url, requestsPerSecond: QUERY_RATE, maxSeconds: seconds, agentKeepAlive: true, quiet: true }) };
  });
  const { measured, firstMs } = result;
  return { p50: measured.percentiles[50] ?? Number.NaN, p99: measured.percentiles[99] ?? Number.NaN, max: measured.maxLatencyMs, rps: measured.totalRequests / seconds, errors: measured.totalErrors, clientNice: nice, firstMs };
}

const row = (name: string, unit: string, value: number, note?: string): BenchRow => ({ suite: SUITE, name, unit, value, runs: [value], ...(note === undefined ? {} : { note }) });

interface LoadPhase {
  report: LoadReport;
  guardianCores: number;
  /** Of guardianCores: the main thread's share. */
  mainThreadCores: number;
  loaderCores: number;
  audit: Awaited<ReturnType<typeof query>>;
  sessions: Awaited<ReturnType<typeof query>>;
}

/** One guardian process under one `fedlog load` process; CPU and queries are measured in the load's own window (after any signing ahead). */
async function guardianUnderLoad(dir: string, seconds: number, submitMode: SubmitMode, signAhead: number): Promise<{ phase: LoadPhase; configFile: string }> {
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
    ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'load', '--url', url, '--admin-token', adminTokens[0]!, '--duration', String(seconds), '--chains', '256', '--seed', '7', '--submit', submitMode, '--sign-ahead', String(signAhead), '--json'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let loadOut = '';
  const loadExited = new Promise<number | null>((resolve) => loader.once('exit', resolve));
  // The window opens when the client says so (its clock starts after signing ahead).
  await new Promise<void>((resolve, reject) => {
    loader.stdout.on('data', (chunk: Buffer) => {
      loadOut += chunk.toString();
      if (loadOut.includes('"clockStarted":true')) resolve();
    });
    loader.once('exit', (code) => reject(new Error(`fedlog load exited (${code}) before its clock started`)));
  });
  const guardianCpuBefore = cpuSeconds(child.pid);
  const mainThreadCpuBefore = cpuSeconds(child.pid, true);
  const loaderCpuBefore = cpuSeconds(loader.pid);
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
  const mainThreadCores = (cpuSeconds(child.pid, true) - mainThreadCpuBefore) / window;
  const loaderCores = (cpuSeconds(loader.pid) - loaderCpuBefore) / window;
  await loadExited;
  const report = JSON.parse(loadOut.trim().split('\n').at(-1) ?? '{}') as LoadReport;
  child.kill('SIGTERM');
  await exited;
  return { phase: { report, guardianCores, mainThreadCores, loaderCores, audit, sessions }, configFile };
}

const queryNote = (q: Awaited<ReturnType<typeof query>>): string =>
  `${Math.round(q.rps)} req/s (open loop, fixed rate, loadtest), ${q.errors} errors, client at nice ${q.clientNice}; whole ms, rounded down`;

function loadRows(phase: LoadPhase, seconds: number, submitMode: SubmitMode, label: string): BenchRow[] {
  const { report, audit, sessions } = phase;
  const ahead = report.signedAhead > 0 ? `; ${report.signedAhead} tx signed ahead in ${report.signAheadSeconds.toFixed(1)} s before the window, ${report.signedAheadStepsUsed} steps used` : '';
  return [
    row(`${label}accepted 1-input tx/s under fedlog load (256 users, HTTP, --submit ${submitMode})`, 'tx/s', report.acceptedPerSecond, `${seconds} s; goal >= 3,000; ${report.accepted} accepted, ${report.errors} errors${report.firstError === undefined ? '' : ` (first: ${report.firstError.slice(0, 80)})`}${ahead}`),
    row(`${label}submit-to-accepted latency p50`, 'ms', report.latencyMs.p50),
    row(`${label}submit-to-accepted latency p99`, 'ms', report.latencyMs.p99),
    row(`${label}double spends accepted`, 'count', report.doubleSpendsAccepted, `of ${report.doubleSpendAttempts} attempts; must be 0`),
    row(`${label}guardian process CPU during load`, 'cores', phase.guardianCores, 'of 2; main thread + writer + signature workers'),
    row(`${label}guardian main thread CPU per accepted tx`, 'ms/tx', (phase.mainThreadCores / report.acceptedPerSecond) * 1000, `${phase.mainThreadCores.toFixed(2)} cores: session loop, API and projections (the thread every query waits for)`),
    row(`${label}fedlog load process CPU during load`, 'cores', phase.loaderCores, `of 2; --submit ${submitMode}; in the load's window (after any signing ahead)`),
    row(`${label}GET /v1/audit p50 under load`, 'ms', audit.p50, queryNote(audit)),
    row(`${label}GET /v1/audit p99 under load`, 'ms', audit.p99, `goal < 20 ms; max ${audit.max} ms`),
    row(`${label}GET /v1/sessions p50 under load`, 'ms', sessions.p50, queryNote(sessions)),
    row(`${label}GET /v1/sessions p99 under load`, 'ms', sessions.p99, `goal < 20 ms; max ${sessions.max} ms`),
    row(`${label}GET /v1/audit first request under load (URL not yet kept by the API front)`, 'ms', audit.firstMs, 'one request, before its phase (see WARM_UP_MS)'),
    row(`${label}GET /v1/sessions first request under load (URL not yet kept by the API front)`, 'ms', sessions.firstMs, 'one request, before its phase (see WARM_UP_MS)'),
  ];
}

const suite: BenchSuite = {
  name: SUITE,
  async run() {
    const seconds = Number(process.env.FEDLOG_BENCH_SECONDS ?? 60);
    // FEDLOG_BENCH_SUBMIT=classic measures the two-request path (POST, then GET ?wait=) for comparison.
    const submitMode = (process.env.FEDLOG_BENCH_SUBMIT ?? 'batch') as SubmitMode;
    // The second load run signs ahead (FEDLOG_BENCH_SIGN_AHEAD=0 skips it): about 3,500 tx/s worth per user.
    const signAhead = Number(process.env.FEDLOG_BENCH_SIGN_AHEAD ?? Math.ceil((seconds * 3500) / 256));
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-'));
    try {
      const { phase, configFile } = await guardianUnderLoad(join(dir, 'default'), seconds, submitMode, 0);
      const config = loadGuardianConfig(configFile);
      // `fedlog replay` itself, in a fresh process each time (as an operator runs it, JIT cold, threads
      // chosen by its own rule), timed by the report it prints; the in-process call as a second figure.
      // Also its CPU per event on all threads: steadier than the wall time on a shared machine, and
      // what a redesign has to bring down (150,000 events/s on two cores allows at most 13 µs).
      const replayCpuPerEvent: number[] = [];
      const replayRow = await repeat(SUITE, 'replay (fedlog replay --json, own process, from position 0)', 'events/s', 3, async () => {
        const report = await replayCommand(dirname(configFile));
        if (!report.ok) throw new Error(`replay found mismatches: ${JSON.stringify(report.problems.slice(0, 3))}`);
        replayCpuPerEvent.push((report.cpuMs * 1000) / report.events);
        return report.events / (report.durationMs / 1000);
      });
      const replayCpuRow = medianRow(SUITE, 'replay CPU per event (fedlog replay, all threads)', 'µs/event', replayCpuPerEvent, `the same 3 runs; ${machine().cores} cores at 150,000 events/s allow at most ${budgetMicros(150_000).toFixed(1)} µs`);
      const inProcessRow = await repeat(SUITE, 'replay (replay() in this process, one thread, from position 0)', 'events/s', 3, async () => {
        const log = await openEventLog({ kind: 'sqlite', path: sqliteLogPath(config) }, { guardian: 0 });
        try {
          const result = await replay(log);
          if (!result.ok) throw new Error(`replay found mismatches: ${JSON.stringify(result.problems.slice(0, 3))}`);
          return result.events / (result.durationMs / 1000);
        } finally {
          await log.close();
        }
      });
      // The least CPU per event any replay of this log takes here (bench/replayFloor.ts), against the goal's budget.
      const floorRows = replayFloor(sqliteLogPath(config), 3).map((floor, i, all) =>
        medianRow(SUITE, `replay floor ${i + 1}/${all.length}: ${floor.level}`, 'µs/event', floor.runs, i === all.length - 1 ? `flat code, one thread; the goal allows ${budgetMicros(150_000).toFixed(1)} µs on ${machine().cores} cores for all of replay` : undefined),
      );
      const rows = [...loadRows(phase, seconds, submitMode, ''), { ...replayRow, note: 'goal >= 150,000 events/s' }, replayCpuRow, inProcessRow, ...floorRows];
      if (signAhead > 0) {
        // Same guardian and load, but the client signed its transactions before the window: on a real
        // deployment clients do not share the guardian's 2 cores, and signing costs about as much as verifying.
        const { phase: ahead } = await guardianUnderLoad(join(dir, 'sign-ahead'), seconds, submitMode, signAhead);
        rows.push(...loadRows(ahead, seconds, submitMode, `client signed ahead (--sign-ahead ${signAhead}): `));
      }
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
