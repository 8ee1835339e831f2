import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad, type LoadReport } from '../../src/cli/loadGenerator.ts';
import { createVerifier } from '../../src/domain/keychain.ts';
import { hexToBytes } from '../../src/domain/hashing.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { processFederation, wipeLog, type ProcessFederation } from './federationProcesses.ts';
import { http, repoRoot } from './spawnGuardian.ts';
import { spawnSync } from 'node:child_process';

interface SessionRow {
  session: number;
  header: string;
}

let federation: ProcessFederation | undefined;
let dir: string | undefined;

afterEach(async () => {
  await federation?.stopAll();
  federation = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function sessionCount(f: ProcessFederation, peer: number): Promise<number> {
  return (await f.get<{ count: number }>(peer, '/v1/sessions/count')).count;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
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
async function sessions(f: ProcessFederation, peer: number, count: number): Promise<SessionRow[]> {
  const page = await f.get<{ sessions: SessionRow[] }>(peer, `/v1/sessions?from=0&limit=${count}`);
  return page.sessions.map(({ session, header }) => ({ session, header }));
}

/** A load against guardian `peer`, every deposit observed by all four guardians. */
function loadOn(f: ProcessFederation, peer: number, seconds: number, seed: number): Promise<LoadReport> {
  const others = f.setups.filter((_, i) => i !== peer).map((s) => ({ url: s.url, adminToken: s.adminToken }));
  return runLoad({ url: f.setups[peer]!.url, adminToken: f.setups[peer]!.adminToken, observers: others, rate: 40, durationSeconds: seconds, chains: 8, seed });
}

async function expectAgreement(f: ProcessFederation, count: number): Promise<void> {
  const views = await Promise.all([0, 1, 2, 3].map((peer) => sessions(f, peer, count)));
  expect(views[0]).toHaveLength(count);
  for (const view of views.slice(1)) expect(view).toEqual(views[0]);
  const histories = await Promise.all([0, 1, 2, 3].map((peer) => f.get(peer, `/v1/audit/history?from=0&to=${count - 1}`)));
  for (const history of histories.slice(1)) expect(history).toEqual(histories[0]);
}

describe('a federation of four guardian processes over mutual TLS', () => {
  it('agrees: transactions submitted to different guardians are accepted once, every guardian holds the same headers, signatures and audit history', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    const f = (federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random: seededRandom(101) }));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    const [a, b] = await Promise.all([loadOn(f, 0, 8, 1), loadOn(f, 2, 8, 2)]);
    for (const report of [a, b]) {
      expect(report.accepted).toBeGreaterThan(0);
      expect(report.doubleSpendsAccepted).toBe(0);
      expect(report.errors).toBe(0);
    }
    const count = (await sessionCount(f, 0)) - 1;
    await until(async () => (await Promise.all([0, 1, 2, 3].map((p) => sessionCount(f, p)))).every((c) => c > count), 20_000, 'all four complete the same sessions');
    await expectAgreement(f, count);
    const federationInfo = await f.get<{ peers: { id: number; pubkey: string; apiUrl: string }[]; threshold: number }>(1, '/v1/federation');
    expect(federationInfo.peers.map((p) => p.apiUrl)).toEqual(f.setups.map((s) => s.url));
    const verifier = createVerifier(new Map(federationInfo.peers.map((p) => [p.id, hexToBytes(p.pubkey)])));
    for (let session = 0; session < count; session++) {
      const signed = await f.get<{ header: string; signatures: Record<string, string> }>(3, `/v1/sessions/${session}/signed`);
      const valid = Object.entries(signed.signatures).filter(([peer, sig]) => verifier.verify(Number(peer), hexToBytes(signed.header), hexToBytes(sig)));
      expect(valid.length).toBeGreaterThanOrEqual(3);
    }
    const peers = await f.get<{ peers: { id: number; connection: string }[] }>(0, '/v1/peers');
    expect(peers.peers.map((p) => p.connection)).toEqual(['self', 'connected', 'connected', 'connected']);
  }, 120_000);

  it('keeps completing sessions with one guardian killed (f = 1), and the restarted guardian catches up and agrees; with two killed it stalls and resumes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    const f = (federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random: seededRandom(102) }));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    await until(async () => (await sessionCount(f, 0)) >= 1, 30_000, 'the first session');
    await f.kill(3);
    const at = await sessionCount(f, 0);
    await until(async () => (await sessionCount(f, 1)) >= at + 3, 30_000, 'three guardians keep going');
    await f.start(3);
    const target = (await sessionCount(f, 0)) + 1;
    await until(async () => (await sessionCount(f, 3)) >= target, 30_000, 'the restarted guardian catches up');
    await expectAgreement(f, target);

    await Promise.all([f.kill(2), f.kill(3)]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stalled = await sessionCount(f, 0);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await sessionCount(f, 0)).toBe(stalled);
    await Promise.all([f.start(2), f.start(3)]);
    await until(async () => (await Promise.all([0, 1, 2, 3].map((p) => sessionCount(f, p)))).every((c) => c >= stalled + 1), 40_000, 'all four resume');
    await expectAgreement(f, stalled + 1);
  }, 180_000);

  it("rebuilds a wiped guardian from its peers' signed outcomes, and its replay reports no mismatch", async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    const f = (federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random: seededRandom(103) }));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    await loadOn(f, 1, 4, 3);
    await f.kill(2);
    wipeLog(f.setups[2]!);
    await f.start(2);
    const target = (await sessionCount(f, 0)) + 1;
    await until(async () => (await sessionCount(f, 2)) >= target, 40_000, 'the wiped guardian rebuilds');
    await expectAgreement(f, target);
    await f.kill(2, 'SIGTERM');
    const replay = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'replay', '--data', f.setups[2]!.dataDir, '--json'], { cwd: repoRoot, encoding: 'utf8' });
    const report = JSON.parse(replay.stdout.trim().split('\n').at(-1)!) as { ok: boolean; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  }, 180_000);

  it('stops all four at the same session when a shutdown is scheduled', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    const f = (federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random: seededRandom(104) }));
    const running = await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    await until(async () => (await sessionCount(f, 0)) >= 1, 30_000, 'the first session');
    const afterSession = (await sessionCount(f, 0)) + 1;
    for (const [peer, setup] of f.setups.entries()) {
      const { status } = await http(`${setup.url}/v1/admin/shutdown`, { method: 'POST', token: setup.adminToken, body: { afterSession } });
      expect(status, `guardian ${peer}`).toBeLessThan(300);
    }
    const codes = await Promise.all(running.map((g) => g.exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    for (let peer = 0; peer < 4; peer++) f.running[peer] = undefined;
    // Each log ends with session `afterSession` complete and nothing after it.
    const { openEventLog } = await import('../../src/streams/openEventLog.ts');
    const { completedSessionCount } = await import('../../src/consensus/engine/openSession.ts');
    for (const setup of f.setups) {
      const log = await openEventLog({ kind: 'sqlite', path: join(setup.dataDir, 'log.sqlite') }, { guardian: 0 });
      expect(await completedSessionCount(log)).toBe(afterSession + 1);
      await log.close();
    }
  }, 120_000);
});

describe('a federation of four guardian processes, SIGKILLed at random moments under load', () => {
  it('loses no acknowledged transaction, accepts none twice, and no header ever differs (12 kills, each guardian killed)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-fed-'));
    const random = seededRandom(105);
    const f = (federation = await processFederation(dir, { roundsPerSession: 20, roundDelayMs: 50, random }));
    await Promise.all([0, 1, 2, 3].map((peer) => f.start(peer)));
    const reports: LoadReport[] = [];
    let kills = 0;
    // Two phases: the load runs against one guardian while the other three are killed in turn, one at a time (f = 1).
    for (const [target, victims] of [
      [0, [1, 2, 3]],
      [3, [0, 1, 2]],
    ] as const) {
      const load = loadOn(f, target, 14, 10 + target);
      for (let round = 0; round < 2; round++) {
        for (const victim of victims) {
          await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 1_200)));
          await f.kill(victim);
          kills++;
          await f.start(victim);
        }
      }
      reports.push(await load);
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    for (const report of reports) {
      expect(report.doubleSpendsAccepted).toBe(0);
      expect(report.accepted).toBeGreaterThan(0);
    }
    const count = Math.min(...(await Promise.all([0, 1, 2, 3].map((p) => sessionCount(f, p)))));
    await expectAgreement(f, count);
    await f.stopAll();
    const { openEventLog } = await import('../../src/streams/openEventLog.ts');
    const accepted: string[][] = [];
    for (const setup of f.setups) {
      const log = await openEventLog({ kind: 'sqlite', path: join(setup.dataDir, 'log.sqlite') }, { guardian: 0 });
      const txids: string[] = [];
      for await (const event of log.readAll()) if (event.type === 'ItemAccepted' && (event.data as { txid?: string }).txid !== undefined) txids.push((event.data as { txid: string }).txid);
      await log.close();
      accepted.push(txids);
    }
    const shortest = Math.min(...accepted.map((t) => t.length));
    for (const txids of accepted) {
      expect(new Set(txids).size).toBe(txids.length);
      expect(txids.slice(0, shortest)).toEqual(accepted[0]!.slice(0, shortest));
    }
    // Every transaction a client was told is accepted is in every guardian's history.
    expect(shortest).toBeGreaterThanOrEqual(reports.reduce((sum, r) => sum + r.accepted, 0));
  }, 300_000);
});
