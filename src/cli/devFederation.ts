/**
 * `fedlog dev` with four guardians (the default): a federation made once in the data directory
 * (`fedlog init --peers 4`: keys, TLS certificates, configs in <data>/guardian-<i>), each guardian
 * a `fedlog run --config` child process, the demo load spread over their APIs (one load client per
 * guardian at an equal share of the rate), and one line per session once all four completed it,
 * saying whether their headers agree. Ctrl-C stops the loads, then the four guardians, then
 * prints the load reports.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGuardianConfig, type GuardianConfig } from '../consensus/config.ts';
import type { DevOptions } from './devCommand.ts';
import { startGuardianChild, type GuardianChild } from './guardianChild.ts';
import { stopOnSignals } from './guardianProcess.ts';
import { initFederation, makeFederationCertificates } from './initCommand.ts';
import { printLoadReport, runLoad, type LoadReport } from './loadGenerator.ts';
import { agreementLine, createSessionTally } from './sessionAgreement.ts';

export interface GuardianLoad {
  rate: number;
  chains: number;
  seed: number;
}

/** Each guardian's share of the demo load: the rate split evenly, every guardian at least one user. */
export function loadShares(peers: number, rate: number, chains: number): GuardianLoad[] {
  return Array.from({ length: peers }, (_, i) => ({
    rate: rate / peers,
    // Users split as evenly as integers allow: the first (chains mod peers) guardians get one more.
    chains: Math.max(1, Math.floor(chains / peers) + (i < chains % peers ? 1 : 0)),
    seed: i + 1,
  }));
}

/** The load reports summed over guardians (latencies stay per guardian: percentiles do not add up). */
export function loadTotalLine(reports: readonly LoadReport[]): string {
  const sum = (pick: (r: LoadReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 1 });
  return `load over ${reports.length} guardians: ${n(sum((r) => r.accepted))} accepted = ${n(sum((r) => r.acceptedPerSecond))} tx/s, double spends ACCEPTED ${sum((r) => r.doubleSpendsAccepted)}, errors ${sum((r) => r.errors)}`;
}

export async function runFederationDev(options: DevOptions): Promise<void> {
  const dataDir = resolve(options.data);
  const configFiles = Array.from({ length: options.peers }, (_, i) => join(dataDir, `guardian-${i}`, 'config.json'));
  const present = configFiles.filter((file) => existsSync(file));
  const fresh = present.length === 0;
  if (!fresh && present.length !== configFiles.length) throw new Error(`${dataDir} holds ${present.length} of ${options.peers} guardian configs: use another --data, or the --peers it was made with`);
  if (fresh) {
    const certificates = await makeFederationCertificates(options.peers);
    initFederation({ peers: options.peers, out: dataDir, basePort: options.port - 1, roundDelayMs: options.roundDelayMs, roundsPerSession: options.roundsPerSession, certificates });
  }
  const configs = configFiles.map((file) => loadGuardianConfig(file));
  const children = await startAll(configs, configFiles);
  const apiUrls = configs.map((c) => `http://${c.api.host}:${c.api.port}`);
  printBanner(options, dataDir, fresh, configs, apiUrls);

  const stopLoad = new AbortController();
  const shares = loadShares(options.peers, options.rate, options.chains);
  const targets = configs.map((c, i) => ({ url: apiUrls[i]!, adminToken: c.adminToken }));
  // Each load client talks to its own guardian, but a deposit confirms only once a threshold observed it.
  const observers = (i: number) => targets.filter((_, j) => j !== i);
  let loads: Promise<LoadReport>[] | undefined =
    options.rate > 0 ? targets.map((target, i) => runLoad({ ...target, observers: observers(i), ...shares[i]!, durationSeconds: Infinity, signal: stopLoad.signal })) : undefined;
  const finishLoads = async () => {
    if (loads === undefined) return;
    stopLoad.abort();
    const reports = await Promise.all(loads);
    loads = undefined;
    reports.forEach((report, i) => {
      console.log(`guardian ${i}:`);
      printLoadReport(report, (line) => console.log(`  ${line}`));
    });
    console.log(loadTotalLine(reports));
  };

  const stopWatching = new AbortController();
  const watching = watchSessions(apiUrls, stopWatching.signal, (line) => console.log(line));
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await finishLoads();
      stopWatching.abort();
      const codes = await Promise.all(children.map((child) => child.stop()));
      codes.forEach((code, i) => {
        if (code !== 0) console.log(`guardian ${i} exited with code ${code}:\n${children[i]!.tail()}`);
      });
    })());
  stopOnSignals(stopAll);
  for (const child of children) {
    void child.exited.then((code) => {
      if (stopping === undefined) console.log(`guardian ${child.peer} exited with code ${code} (the others go on while a threshold remains):\n${child.tail()}`);
    });
  }
  await Promise.all(children.map((child) => child.exited));
  await stopAll();
  await watching;
  console.log('fedlog dev: stopped');
}

/** Starts every guardian; if one cannot start, stops those that did and says why. */
async function startAll(configs: readonly GuardianConfig[], configFiles: readonly string[]): Promise<GuardianChild[]> {
  const started = await Promise.allSettled(
    configFiles.map((configFile, i) =>
      startGuardianChild({
        peer: configs[i]!.peer,
        configFile,
        // Session lines are printed once for the federation (watchSessions); warnings and errors pass through.
        onLine: (line) => {
          if (line !== '' && !/^(session |guardian \d+ serving )/.test(line)) console.error(`[guardian ${i}] ${line}`);
        },
      }),
    ),
  );
  const failed = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed.length === 0) return started.map((s) => (s as PromiseFulfilledResult<GuardianChild>).value);
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  throw new Error(failed.map((s) => (s.reason instanceof Error ? s.reason.message : String(s.reason))).join('\n'));
}

function printBanner(options: DevOptions, dataDir: string, fresh: boolean, configs: readonly GuardianConfig[], apiUrls: readonly string[]): void {
  const { roundDelayMs, roundsPerSession } = configs[0]!.federation;
  console.log(
    [
      '',
      `fedlog dev: a federation of ${configs.length} guardian processes over mutual TLS (${fresh ? 'new' : 'existing'} data in ${dataDir})`,
      `  sessions of ${roundsPerSession} rounds at ${roundDelayMs} ms; each session is printed once all ${configs.length} completed it`,
      ...configs.map((c, i) => `  guardian ${i}     API ${apiUrls[i]}/   P2P ${c.p2p.host}:${c.p2p.port}   admin token ${c.adminToken}`),
      `  demo load      ${options.rate > 0 ? `${options.rate} tx/s from ${options.chains} users, spread evenly over the ${configs.length} APIs` : 'off'}`,
      '',
      '  try:',
      `    curl -s ${apiUrls[0]}/v1/federation`,
      `    curl -s ${apiUrls[1] ?? apiUrls[0]}/v1/sessions/count`,
      `    curl -s ${apiUrls[0]}/v1/peers`,
      '',
      '  Ctrl-C stops cleanly; `npm start` again continues the same history.',
      '',
    ].join('\n'),
  );
}

interface SessionsPage {
  sessions: { session: number; header?: string; itemCount: number }[];
}

/** Polls every guardian's completed sessions once a second and prints each session once all reported it. */
async function watchSessions(apiUrls: readonly string[], signal: AbortSignal, print: (line: string) => void): Promise<void> {
  const get = async <T>(url: string): Promise<T | undefined> => {
    try {
      const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined; // down or restarting: asked again at the next poll
    }
  };
  // Only sessions completed from now on: history of an existing directory is not printed again.
  const counts = await Promise.all(apiUrls.map((url) => get<{ count: number }>(`${url}/v1/sessions/count`)));
  const tally = createSessionTally(apiUrls.length, Math.max(0, ...counts.map((c) => c?.count ?? 0)));
  const next = apiUrls.map(() => tally.next());
  while (!signal.aborted) {
    await Promise.all(
      apiUrls.map(async (url, guardian) => {
        const page = await get<SessionsPage>(`${url}/v1/sessions?from=${next[guardian]}&limit=100`);
        for (const { session, header, itemCount } of page?.sessions ?? []) {
          if (header === undefined) continue;
          next[guardian] = session + 1;
          for (const agreement of tally.report({ guardian, session, header, itemCount })) print(agreementLine(agreement));
        }
      }),
    );
    await sleep(1_000, undefined, { signal }).catch(() => undefined);
  }
}
