import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runLoad } from '../../src/cli/loadGenerator.ts';
import { startReplica, type Replica } from '../../src/replica/replica.ts';
import { freePortPair, http, initGuardian, repoRoot, runGuardian, type GuardianSetup, type RunningGuardian } from '../e2e/spawnGuardian.ts';

/**
 * A replica against a live guardian process (one guardian, 1 s sessions): it follows under load and
 * then answers the analyst queries exactly as the guardian does, refuses writes, and a `fedlog follow`
 * killed with SIGKILL and started again continues where it was.
 */

const dir = mkdtempSync(join(tmpdir(), 'fedlog-replica-e2e-'));
let setup: GuardianSetup;
let guardian: RunningGuardian;

beforeAll(async () => {
  setup = await initGuardian(join(dir, 'guardian'), 1);
  guardian = await runGuardian(setup);
}, 60_000);

afterAll(async () => {
  guardian?.child.kill('SIGTERM');
  await guardian?.exited;
  rmSync(dir, { recursive: true, force: true });
});

const text = async (url: string) => (await fetch(url)).text();

describe('a replica following a live guardian', () => {
  let replica: Replica;
  afterAll(() => replica?.stop());

  it('follows under load, then answers /v1/sessions, /v1/audit/history, items and signed outcomes as the guardian does', async () => {
    replica = await startReplica({ from: setup.url, dataDir: join(dir, 'replica'), port: 0, pollWaitMs: 500, logger: pino({ level: 'silent' }) });
    const lagSeen: string[] = [];
    const watching = setInterval(() => {
      void fetch(`${replica.url}/v1/sessions/count`).then((r) => lagSeen.push(r.headers.get('fedlog-replica-lag') ?? 'none'), () => undefined);
    }, 200);
    const report = await runLoad({ url: setup.url, adminToken: setup.adminToken, rate: 60, durationSeconds: 4, chains: 16, seed: 17 });
    clearInterval(watching);
    expect(report.accepted).toBeGreaterThan(50);
    expect(report.doubleSpendsAccepted).toBe(0);
    // It answered while the guardian was loaded, and always said how far behind it was.
    expect(lagSeen.length).toBeGreaterThan(5);
    expect(lagSeen.every((lag) => /^\d+$/.test(lag))).toBe(true);

    // Caught up with every session the load touched (the last ones complete within two 1 s sessions).
    const sessionCount = async () => (await http<{ count: number }>(`${setup.url}/v1/sessions/count`)).json.count;
    const afterLoad = (await sessionCount()) + 2;
    await vi.waitFor(async () => expect(await sessionCount()).toBeGreaterThanOrEqual(afterLoad), { timeout: 15_000, interval: 100 });
    await vi.waitFor(() => expect(replica.status().sessions).toBeGreaterThanOrEqual(afterLoad), { timeout: 15_000, interval: 100 });
    const n = replica.status().sessions;
    expect(await text(`${replica.url}/v1/sessions?from=0&limit=${n}`)).toBe(await text(`${setup.url}/v1/sessions?from=0&limit=${n}`));
    expect(await text(`${replica.url}/v1/audit/history?from=0&to=${n - 1}`)).toBe(await text(`${setup.url}/v1/audit/history?from=0&to=${n - 1}`));
    let items = 0;
    for (let i = 0; i < n; i++) {
      const ours = await text(`${replica.url}/v1/sessions/${i}/items?limit=1000`);
      expect(ours).toBe(await text(`${setup.url}/v1/sessions/${i}/items?limit=1000`));
      expect(await text(`${replica.url}/v1/sessions/${i}/signed`)).toBe(await text(`${setup.url}/v1/sessions/${i}/signed`));
      items += (JSON.parse(ours) as { items: unknown[] }).items.length;
    }
    // Every accepted transaction, and the deposits they claimed.
    expect(items).toBeGreaterThan(report.accepted);
    // A transaction the load had accepted reads the same on both.
    let txid: string | undefined;
    for (let i = 0; i < n && txid === undefined; i++) txid = /"txid":"([0-9a-f]{64})"/.exec(await text(`${setup.url}/v1/sessions/${i}/items`))?.[1];
    expect(txid).toBeDefined();
    expect(await text(`${replica.url}/v1/transactions/${txid}`)).toBe(await text(`${setup.url}/v1/transactions/${txid}`));
  }, 60_000);

  it('refuses submissions and admin requests, naming the guardian to use instead', async () => {
    const submitted = await http(`${replica.url}/v1/transactions`, { method: 'POST', body: { tx: '00' } });
    expect(submitted).toEqual({ status: 403, json: { error: 'read_only', reason: `this is a read-only replica of ${setup.url}: send POST /v1/transactions to a guardian` } });
    expect((await http(`${replica.url}/v1/admin/deposits`, { method: 'POST', body: {}, token: setup.adminToken })).status).toBe(403);
    expect((await http(`${replica.url}/v1/admin/shutdown`, { method: 'GET' })).status).toBe(403);
  });

  it('says how far behind it is: GET /v1/replica, the lag header and /metrics', async () => {
    const { json: status } = await http<{ state: string; lagSessions: number; sessions: number; source: string }>(`${replica.url}/v1/replica`);
    expect(status.source).toBe(setup.url);
    expect(['caughtUp', 'following']).toContain(status.state);
    expect(status.lagSessions).toBeLessThanOrEqual(1);
    const metrics = await text(`${replica.url}/metrics`);
    expect(metrics).toMatch(/^fedlog_replica_lag_sessions [01]$/m);
    expect(metrics).toMatch(/^fedlog_replica_sessions \d+$/m);
  });
});

describe('fedlog follow, killed and started again', () => {
  const data = join(dir, 'killed');
  const start = async (port: number) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'follow', '--from', setup.url, '--data', data, '--port', String(port), '--log-level', 'warn'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await vi.waitFor(() => expect(output).toMatch(/serving http/), { timeout: 30_000, interval: 50 });
    return { child, output: () => output, exited: new Promise((resolve) => child.once('exit', resolve)) };
  };
  let running: { child: ChildProcess; exited: Promise<unknown> } | undefined;
  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await running?.exited;
  });

  it('continues from the sessions it had recorded, with none lost or recorded twice', async () => {
    const { api: port } = await freePortPair();
    const url = `http://127.0.0.1:${port}`;
    const first = await start(port);
    running = first;
    await vi.waitFor(async () => expect((await http<{ sessions: number }>(`${url}/v1/replica`)).json.sessions).toBeGreaterThanOrEqual(3), { timeout: 20_000, interval: 100 });
    const before = (await http<{ sessions: number }>(`${url}/v1/replica`)).json.sessions;
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await start(port);
    running = second;
    // It starts from its own log: at least what it had, without asking the guardian for it again.
    const resumed = Number(/(\d+) sessions recorded/.exec(second.output())![1]);
    expect(resumed).toBeGreaterThanOrEqual(before);
    const { json: guardianCount } = await http<{ count: number }>(`${setup.url}/v1/sessions/count`);
    await vi.waitFor(async () => expect((await http<{ sessions: number }>(`${url}/v1/replica`)).json.sessions).toBeGreaterThanOrEqual(guardianCount.count), { timeout: 20_000, interval: 100 });
    const n = (await http<{ sessions: number }>(`${url}/v1/replica`)).json.sessions;
    const { json: listed } = await http<{ sessions: { session: number }[] }>(`${url}/v1/sessions?from=0&limit=${n}`);
    expect(listed.sessions.map((s) => s.session)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(await text(`${url}/v1/audit/history?from=0&to=${n - 1}`)).toBe(await text(`${setup.url}/v1/audit/history?from=0&to=${n - 1}`));
  }, 90_000);
});
