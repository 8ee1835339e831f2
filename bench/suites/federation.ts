/**
 * Suite 'federation': four guardian processes over mutual TLS on this machine (`fedlog init --peers
 * 4`, `fedlog run` each), one `fedlog load` process per guardian (transactions to its guardian,
 * every deposit observed by all four), for FEDLOG_BENCH_SECONDS (default 60): accepted tx/s,
 * submit-to-accepted p50/p99, rounds from unit creation to ordering (each guardian's
 * consensus_unit_ordering_rounds histogram), and the single-guardian figure measured in the same
 * run with the same clients. Goals on 2 cores: >= 800 tx/s, p50 <= 500 ms at 50 ms rounds,
 * ordering in <= 5 rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initFederation, makeFederationCertificates } from '../../src/cli/initCommand.ts';
import type { LoadReport } from '../../src/cli/loadGenerator.ts';
import { median, type BenchRow, type BenchSuite } from '../report.ts';
import { cpuSeconds, freePortRange } from '../processes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');
const SUITE = 'federation';
const ROUND_DELAY_MS = 50;
// As the guardian suite: 'batch' answers a request once all its transactions are decided, so a
// transaction's latency includes its batch's slowest; FEDLOG_BENCH_SUBMIT=wait times each alone.
const SUBMIT = process.env.FEDLOG_BENCH_SUBMIT ?? 'batch';

const row = (name: string, unit: string, value: number, runs: number[] = [value], note?: string): BenchRow => ({ suite: SUITE, name, unit, value, runs, ...(note === undefined ? {} : { note }) });

/** Every load process connects from loopback: the per-client connection cap must fit all of them. */
function allowLoopbackClients(configFile: string): void {
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { api: Record<string, unknown> };
  raw.api.maxConnectionsPerClient = 8192;
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
}

function startGuardian(configFile: string): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', '--config', configFile, '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('serving http')) resolve({ child, exited });
    });
    child.once('exit', (code) => reject(new Error(`guardian exited (${code})`)));
  });
}

/** CPU of the given processes while `work` runs, in cores. */
async function coresDuring<T>(pids: () => (number | undefined)[], work: Promise<T>, seconds: number): Promise<{ result: T; cores: number }> {
  // Sampled after the loads signed ahead (a few seconds) and before they end: the steady window.
  await new Promise((resolve) => setTimeout(resolve, Math.min(8, seconds / 3) * 1000));
  const before = pids().map((pid) => cpuSeconds(pid));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, (seconds / 3) * 1000));
  const after = pids().map((pid) => cpuSeconds(pid));
  const window = (performance.now() - started) / 1000;
  const cores = after.reduce((sum, value, i) => sum + (value - before[i]!), 0) / window;
  return { result: await work, cores };
}

const loadPids: (number | undefined)[] = [];

/** Runs one `fedlog load --json` per target in parallel; resolves with their reports. */
async function loads(targets: { url: string; token: string; observers: string[] }[], seconds: number, chains: number): Promise<LoadReport[]> {
  loadPids.length = 0;
  return Promise.all(
    targets.map(
      (target, i) =>
        new Promise<LoadReport>((resolve, reject) => {
          const args = ['--import', 'tsx', main, 'load', '--url', target.url, '--admin-token', target.token, '--duration', String(seconds), '--chains', String(chains), '--seed', String(7 + i), '--submit', SUBMIT, '--sign-ahead', String(Math.ceil((seconds * 1500) / chains)), '--json'];
          for (const observer of target.observers) args.push('--observer', observer);
          const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
          loadPids.push(child.pid);
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.once('exit', (code) => {
            const last = out.trim().split('\n').at(-1) ?? '';
            if (!last.startsWith('{"durationSeconds"')) return reject(new Error(`fedlog load exited (${code}) without a report`));
            resolve(JSON.parse(last) as LoadReport);
          });
        }),
    ),
  );
}

/** Mean and bucket median of a Prometheus histogram summed over guardians. */
async function orderingRounds(urls: string[]): Promise<{ mean: number; median: number; count: number }> {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const bucket = /^consensus_unit_ordering_rounds_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
      if (bucket !== null && bucket[1] !== '+Inf') buckets.set(Number(bucket[1]), (buckets.get(Number(bucket[1])) ?? 0) + Number(bucket[2]));
      const total = /^consensus_unit_ordering_rounds_(sum|count) (\S+)/.exec(line);
      if (total?.[1] === 'sum') sum += Number(total[2]);
      if (total?.[1] === 'count') count += Number(total[2]);
    }
  }
  const half = count / 2;
  const le = [...buckets].sort(([a], [b]) => a - b).find(([, cumulative]) => cumulative >= half)?.[0] ?? Number.NaN;
  return { mean: count === 0 ? Number.NaN : sum / count, median: le, count };
}

async function federationRun(dir: string, seconds: number, chains: number): Promise<BenchRow[]> {
  const base = await freePortRange(8);
  const certificates = await makeFederationCertificates(4);
  // Sessions of about 30 s at 50 ms rounds: several complete within the window.
  const { configFiles, adminTokens } = initFederation({ peers: 4, out: dir, basePort: base, certificates, roundDelayMs: ROUND_DELAY_MS, roundsPerSession: 600 });
  const urls = configFiles.map((_, i) => `http://127.0.0.1:${base + 2 * i + 1}`);
  configFiles.forEach(allowLoopbackClients);
  const guardians = await Promise.all(configFiles.map(startGuardian));
  try {
    const running = loads(
      urls.map((url, i) => ({ url, token: adminTokens[i]!, observers: urls.flatMap((other, j) => (j === i ? [] : [`${other}=${adminTokens[j]}`])) })),
      seconds,
      chains,
    );
    const guardianCpu = coresDuring(() => guardians.map((g) => g.child.pid), running, seconds);
    const clientCpu = coresDuring(() => loadPids, running, seconds);
    const [{ result: reports, cores: guardianCores }, { cores: clientCores }] = await Promise.all([guardianCpu, clientCpu]);
    const rounds = await orderingRounds(urls);
    const accepted = reports.reduce((sum, r) => sum + r.acceptedPerSecond, 0);
    const p50s = reports.map((r) => r.latencyMs.p50);
    const p99s = reports.map((r) => r.latencyMs.p99);
    return [
      row(`four guardians over TLS: accepted 1-input tx/s (4 x fedlog load, ${chains} users each)`, 'tx/s', accepted, reports.map((r) => r.acceptedPerSecond), `${seconds} s; goal >= 800; the sum over the four loads; double spends accepted: ${reports.reduce((s, r) => s + r.doubleSpendsAccepted, 0)}, errors: ${reports.reduce((s, r) => s + r.errors, 0)}`),
      row('four guardians: submit-to-accepted latency p50', 'ms', median(p50s), p50s, `goal <= 500 ms at ${ROUND_DELAY_MS} ms rounds; one figure per load; --submit ${SUBMIT}`),
      row('four guardians: submit-to-accepted latency p99', 'ms', median(p99s), p99s, 'one figure per load'),
      row('four guardians: rounds from unit creation to ordering (median)', 'rounds', rounds.median, [rounds.median], `goal <= 5; mean ${rounds.mean.toFixed(2)} over ${rounds.count} own units of all four`),
      row('four guardians: guardian CPU per accepted tx (all four processes)', 'ms/tx', (guardianCores / accepted) * 1000, undefined, `${guardianCores.toFixed(2)} cores for the four guardians, ${clientCores.toFixed(2)} for the four load processes, in the middle third of the window`),
      row('four guardians: the CPU floor, tx/s these costs allow on this machine', 'tx/s', cpus().length / ((guardianCores + clientCores) / accepted), undefined, `${cpus().length} cores / (guardians' + clients' CPU per accepted tx): what the same code could reach with no waiting at all`),
    ];
  } finally {
    for (const g of guardians) g.child.kill('SIGTERM');
    await Promise.all(guardians.map((g) => g.exited));
  }
}

async function singleRun(dir: string, seconds: number, chains: number): Promise<BenchRow[]> {
  const base = await freePortRange(2);
  const { configFiles, adminTokens } = initFederation({ peers: 1, out: dir, sessionSeconds: 10, basePort: base });
  allowLoopbackClients(configFiles[0]!);
  const raw = JSON.parse(readFileSync(configFiles[0]!, 'utf8')) as { api: { port: number } };
  const url = `http://127.0.0.1:${raw.api.port}`;
  const guardian = await startGuardian(configFiles[0]!);
  try {
    // The same clients as the federation run: four loads of 64 users, all against the one guardian.
    const reports = await loads([0, 1, 2, 3].map(() => ({ url, token: adminTokens[0]!, observers: [] })), seconds, chains);
    const accepted = reports.reduce((sum, r) => sum + r.acceptedPerSecond, 0);
    return [row('one guardian, same clients: accepted 1-input tx/s', 'tx/s', accepted, reports.map((r) => r.acceptedPerSecond), `${seconds} s, measured in the same run for the ratio`)];
  } finally {
    guardian.child.kill('SIGTERM');
    await guardian.exited;
  }
}

const suite: BenchSuite = {
  name: SUITE,
  async run() {
    const seconds = Number(process.env.FEDLOG_BENCH_SECONDS ?? 60);
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-fed-'));
    try {
      // Users per load process (four of them): enough that the guardians, not the clients' waits, set the pace.
      const chains = Number(process.env.FEDLOG_BENCH_CHAINS ?? 128);
      const federation = await federationRun(join(dir, 'four'), seconds, chains);
      const single = await singleRun(join(dir, 'one'), seconds, chains);
      const ratio = federation[0]!.value / single[0]!.value;
      return [...federation, ...single, row('four guardians / one guardian, accepted tx/s', 'ratio', ratio, [ratio], 'same machine, same clients, same run')];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
