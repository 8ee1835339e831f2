/**
 * `fedlog dev` (what `npm start` runs): by default a local federation of four guardian processes
 * (devFederation.ts); with `--peers 1`, one guardian in this process with an embedded SQLite log in
 * a data directory (created with fresh keys on first use, reused afterwards, so a restart continues
 * the same history), its API and dashboard, and the `fedlog load` client running against it over
 * HTTP. Each completed session prints one line; Ctrl-C stops the load, then the guardian, cleanly.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadGuardianConfig } from '../consensus/config.ts';
import { startGuardianProcess, stopOnSignals } from './guardianProcess.ts';
import { runFederationDev } from './devFederation.ts';
import { initFederation } from './initCommand.ts';
import { printLoadReport, runLoad, type LoadReport } from './loadGenerator.ts';

export interface DevOptions {
  /** 1: one guardian in this process; 4 or more: that many guardian processes. */
  peers: number;
  data: string;
  /** API port of guardian 0. */
  port: number;
  sessionSeconds: number;
  roundDelayMs: number;
  roundsPerSession: number;
  rate: number;
  chains: number;
}

export async function runDev(options: DevOptions): Promise<void> {
  if (options.peers === 1) await runSingleGuardianDev(options);
  else await runFederationDev(options);
}

async function runSingleGuardianDev(options: DevOptions): Promise<void> {
  const dataDir = resolve(options.data);
  const configFile = join(dataDir, 'guardian-0', 'config.json');
  const fresh = !existsSync(configFile);
  if (fresh) initFederation({ peers: 1, out: dataDir, sessionSeconds: options.sessionSeconds, basePort: options.port - 1 });
  const loaded = loadGuardianConfig(configFile);
  // The API address is local, not consensus: a different --port on an existing directory is fine.
  const apiUrl = `http://${loaded.api.host}:${options.port}`;
  const config = { ...loaded, api: { ...loaded.api, port: options.port }, federation: { ...loaded.federation, peers: loaded.federation.peers.map((p) => ({ ...p, apiUrl })) } };
  const running = await startGuardianProcess(config, { logLevel: 'warn' });
  const url = running.apiUrl;
  const token = config.adminToken;
  console.log(
    [
      '',
      `fedlog dev: guardian 0 of a 1-guardian federation (${fresh ? 'new' : 'existing'} data in ${dataDir})`,
      `  sessions of ${config.federation.sessionSeconds} s; session ${running.guardian.currentSession()} is open`,
      `  dashboard      ${url}/`,
      `  API            ${url}/v1/federation   (OpenAPI: ${url}/openapi.json, metrics: ${url}/metrics)`,
      `  admin token    ${token}`,
      `  demo load      ${options.rate > 0 ? `${options.rate} tx/s from ${options.chains} users over HTTP (deposits, claims, spends, withdrawals, double-spend attempts)` : 'off'}`,
      '',
      '  try:',
      `    curl -s ${url}/v1/sessions/count`,
      `    curl -s '${url}/v1/sessions?from=0&limit=5'`,
      `    curl -s ${url}/v1/audit`,
      `    curl -s ${url}/v1/sessions/0/signed`,
      '',
      '  Ctrl-C stops cleanly; `npm start` again continues the same history.',
      '',
    ].join('\n'),
  );

  const stopLoad = new AbortController();
  let load: Promise<LoadReport> | undefined;
  if (options.rate > 0) {
    load = runLoad({ url, adminToken: token, rate: options.rate, durationSeconds: Infinity, chains: options.chains, signal: stopLoad.signal });
  }
  const finishLoad = async () => {
    if (load === undefined) return;
    stopLoad.abort();
    const report = await load;
    load = undefined;
    printLoadReport(report, (line) => console.log(line));
  };
  stopOnSignals(async () => {
    await finishLoad();
    await running.stop();
  });
  try {
    await running.done;
  } finally {
    await finishLoad();
  }
  console.log('fedlog dev: stopped');
}
