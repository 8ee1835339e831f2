/**
 * A federation of four guardian processes on loopback over mutual TLS, as `fedlog init --peers 4`
 * and `fedlog run` make it, for end-to-end tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initFederation, makeFederationCertificates } from '../../src/cli/initCommand.ts';
import { afterEach, expect } from 'vitest';
import { runLoad, type LoadReport } from '../../src/cli/loadGenerator.ts';
import { http, runGuardian, type GuardianSetup, type RunningGuardian } from './spawnGuardian.ts';

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with 2n free ports above it (P2P 2i, API 2i + 1), drawn from `random`. */
async function freeBase(n: number, random: () => number): Promise<number> {
  for (;;) {
    const base = 20_000 + 2 * Math.floor(random() * 15_000);
    let free = true;
    for (let port = base; port < base + 2 * n && free; port++) free = await isFree(port);
    if (free) return base;
  }
}

export interface ProcessFederation {
  setups: GuardianSetup[];
  running: (RunningGuardian | undefined)[];
  start(peer: number): Promise<RunningGuardian>;
  kill(peer: number, signal?: NodeJS.Signals): Promise<void>;
  stopAll(): Promise<void>;
  /** GET on guardian `peer`'s API. */
  get<T = Record<string, unknown>>(peer: number, path: string): Promise<T>;
}

export async function processFederation(dir: string, options: { roundsPerSession: number; roundDelayMs: number; random: () => number }): Promise<ProcessFederation> {
  const n = 4;
  const basePort = await freeBase(n, options.random);
  const certificates = await makeFederationCertificates(n);
  const result = initFederation({ peers: n, out: dir, basePort, certificates, roundsPerSession: options.roundsPerSession, roundDelayMs: options.roundDelayMs });
  const setups: GuardianSetup[] = result.configFiles.map((configFile, i) => ({
    dir,
    configFile,
    dataDir: `${dir}/guardian-${i}`,
    adminToken: result.adminTokens[i]!,
    url: `http://127.0.0.1:${basePort + 2 * i + 1}`,
  }));
  const running: (RunningGuardian | undefined)[] = Array.from({ length: n }, () => undefined);
  const federation: ProcessFederation = {
    setups,
    running,
    async start(peer) {
      const guardian = await runGuardian(setups[peer]!);
      running[peer] = guardian;
      return guardian;
    },
    async kill(peer, signal = 'SIGKILL') {
      const guardian = running[peer];
      running[peer] = undefined;
      if (guardian === undefined) return;
      guardian.child.kill(signal);
      await guardian.exited;
    },
    async stopAll() {
      await Promise.all(running.map((_, peer) => federation.kill(peer, 'SIGTERM')));
    },
    async get(peer, path) {
      const { status, json } = await http(`${setups[peer]!.url}${path}`);
      if (status !== 200) throw new Error(`GET ${path} on guardian ${peer}: ${status} ${JSON.stringify(json)}`);
      return json as never;
    },
  };
  return federation;
}

/** Wipes a guardian's data (its log and snapshots), keeping its config, keys and certificate. */
export function wipeLog(setup: GuardianSetup): void {
  for (const file of ['log.sqlite', 'log.sqlite-wal', 'log.sqlite-shm']) rmSync(`${setup.dataDir}/${file}`, { force: true });
}

interface SessionRow {
  session: number;
  header: string;
}

export async function sessionCount(f: ProcessFederation, peer: number): Promise<number> {
  return (await f.get<{ count: number }>(peer, '/v1/sessions/count')).count;
}

export async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // A guardian that is starting or stopping does not answer yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sessions 0..count-1 as guardian `peer` serves them. */
export async function sessions(f: ProcessFederation, peer: number, count: number): Promise<SessionRow[]> {
  const page = await f.get<{ sessions: SessionRow[] }>(peer, `/v1/sessions?from=0&limit=${count}`);
  return page.sessions.map(({ session, header }) => ({ session, header }));
}

/** A load against guardian `peer`, every deposit observed by all four guardians. */
export function loadOn(f: ProcessFederation, peer: number, seconds: number, seed: number): Promise<LoadReport> {
  const others = f.setups.filter((_, i) => i !== peer).map((s) => ({ url: s.url, adminToken: s.adminToken }));
  return runLoad({ url: f.setups[peer]!.url, adminToken: f.setups[peer]!.adminToken, observers: others, rate: 40, durationSeconds: seconds, chains: 8, seed });
}

export async function expectAgreement(f: ProcessFederation, count: number): Promise<void> {
  const views = await Promise.all([0, 1, 2, 3].map((peer) => sessions(f, peer, count)));
  expect(views[0]).toHaveLength(count);
  for (const view of views.slice(1)) expect(view).toEqual(views[0]);
  const histories = await Promise.all([0, 1, 2, 3].map((peer) => f.get(peer, `/v1/audit/history?from=0&to=${count - 1}`)));
  for (const history of histories.slice(1)) expect(history).toEqual(histories[0]);
}

/**
 * One federation per test, in a folder of its own: stopped and removed after each test. The tests
 * use sessions of 20 rounds at 50 ms; `random` (seeded) draws the ports.
 */
export function federationPerTest(): (random: () => number) => Promise<ProcessFederation> {
  let federation: ProcessFederation | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await federation?.stopAll();
    federation = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return async (random) => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random });
    return federation;
  };
}
