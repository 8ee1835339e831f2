import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { federationKeys, loadGuardianConfig, sqliteLogPath } from '../../src/consensus/config.ts';
import { decodeConsensusItem } from '../../src/domain/consensusItem.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit } from '../../src/domain/modules/wallet.ts';
import { sessionHeader, verifySignedSessionOutcome, type AcceptedItem } from '../../src/domain/sessionOutcome.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import { buildTransaction, encodeTransaction, txid as txidOf } from '../../src/domain/transaction.ts';
import { completedSessionCount } from '../../src/consensus/engine/openSession.ts';
import { readSignedSessionOutcome } from '../../src/projections/signedOutcomes.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { http, initGuardian, repoRoot, runGuardian, type RunningGuardian } from './spawnGuardian.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

const CRASHES = 5;
const CHAINS = 12;
const backend = fastestBackend();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that survives the guardian dying: it retries the SAME transaction until it learns its fate. */
function startClients(url: string, adminToken: string, stop: AbortSignal) {
  const acknowledged = new Map<string, number>(); // txid -> session it was acknowledged in
  const call = async <T = Record<string, unknown>>(path: string, init: Parameters<typeof http>[1] = {}) => {
    for (;;) {
      try {
        return await http<T>(`${url}${path}`, init);
      } catch {
        if (stop.aborted) throw new Error('stopped');
        await sleep(50); // the guardian is down: wait for its restart
      }
    }
  };
  const build = (inputs: Parameters<typeof buildTransaction>[0]['inputs'], outputs: Parameters<typeof buildTransaction>[0]['outputs'], secret: Uint8Array) => {
    const built = buildTransaction({ inputs, outputs, secretKeysPerInput: [secret], nonce: randomBytes(8), backend });
    return { hex: bytesToHex(encodeTransaction(built.tx)), txid: bytesToHex(built.txid) };
  };
  /** true once accepted (acknowledged); false on a refusal. */
  const settle = async (tx: { hex: string; txid: string }): Promise<boolean> => {
    for (;;) {
      const submitted = await call('/v1/transactions', { method: 'POST', body: { tx: tx.hex } });
      if (submitted.status === 400) return false;
      if (submitted.status === 503) {
        await sleep(100);
        continue;
      }
      const status = await call<{ status: string; session?: number }>(`/v1/transactions/${tx.txid}?wait=2000`);
      if (status.json.status === 'accepted') {
        acknowledged.set(tx.txid, status.json.session!);
        return true;
      }
      if (status.json.status === 'rejected') return false;
      // pending: ask again; unknown: the queued copy died with the process, so submit it again.
    }
  };
  const chain = async () => {
    const secret = randomBytes(32);
    const owner = backend.publicKey(secret);
    const depositId = randomBytes(32);
    const claim = build([claimDeposit(depositId)], [issueNote(1_000_000n, owner)], secret);
    while (!(await settle(claim))) {
      // Not confirmed yet, or the queued deposit died in a crash: observe it (again) and retry.
      await call('/v1/admin/deposits', { method: 'POST', token: adminToken, body: { depositId: bytesToHex(depositId), amount: '1000000', recipient: bytesToHex(owner) } });
      await sleep(30);
    }
    let note = claim.txid;
    while (!stop.aborted) {
      const spend = build([spendNote(hexToBytes(note), 0)], [issueNote(1_000_000n, owner)], secret);
      if (!(await settle(spend))) throw new Error(`a spend of an acknowledged note was refused: ${spend.txid}`);
      note = spend.txid;
    }
  };
  const running = Promise.all(Array.from({ length: CHAINS }, () => chain().catch((error: unknown) => (stop.aborted ? undefined : Promise.reject(error)))));
  return { acknowledged, running };
}

describe('crash recovery of a guardian process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`loses and duplicates nothing acknowledged across ${CRASHES} SIGKILLs under load, and replay finds no mismatch`, async () => {
    const random = seededRandom(20260401);
    const setup = await initGuardian(dir, 1);
    let guardian: RunningGuardian = await runGuardian(setup);
    const stop = new AbortController();
    const clients = startClients(setup.url, setup.adminToken, stop.signal);
    let clientFailure: unknown;
    clients.running.catch((error: unknown) => (clientFailure = error));

    for (let crash = 0; crash < CRASHES; crash++) {
      await sleep(300 + Math.floor(random() * 1200));
      guardian.child.kill('SIGKILL');
      await guardian.exited;
      guardian = await runGuardian(setup);
    }
    await sleep(800);
    stop.abort();
    await clients.running.catch(() => undefined);
    expect(clientFailure).toBeUndefined();
    expect(clients.acknowledged.size).toBeGreaterThan(CHAINS);

    // Let the guardian seal the session of the newest acknowledgement, then exit by itself.
    const last = Math.max(...clients.acknowledged.values());
    const scheduled = await http(`${setup.url}/v1/admin/shutdown`, { method: 'POST', token: setup.adminToken, body: { afterSession: last } });
    expect([202, 400]).toContain(scheduled.status);
    if (scheduled.status === 400) guardian.child.kill('SIGTERM');
    expect(await guardian.exited).toBe(0);

    const config = loadGuardianConfig(setup.configFile);
    const log = await openEventLog({ kind: 'sqlite', path: sqliteLogPath(config) }, { guardian: 0 });
    const counts = new Map<string, number>();
    try {
      const sessions = await completedSessionCount(log);
      expect(sessions).toBeGreaterThan(last);
      for (let session = 0; session < sessions; session++) {
        const record = (await readSignedSessionOutcome(log, session))!;
        const items: AcceptedItem[] = record.items.map(({ item, peer }) => {
          const decoded = decodeConsensusItem(hexToBytes(item), defaultModuleCodecs);
          if (!decoded.ok) throw new Error(`session ${session}: undecodable item`);
          return { item: decoded.value, peer };
        });
        expect(bytesToHex(sessionHeader(session, { items }))).toBe(record.header);
        const signatures = new Map(Object.entries(record.signatures).map(([peer, sig]) => [Number(peer), hexToBytes(sig)]));
        expect(verifySignedSessionOutcome(federationKeys(config), session, { outcome: { items }, signatures })).toBe(true);
        for (const { item } of items) {
          if (item.kind !== 'transaction') continue;
          const id = bytesToHex(txidOf(item.tx));
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    } finally {
      await log.close();
    }
    for (const txid of clients.acknowledged.keys()) expect(counts.get(txid), `acknowledged ${txid}`).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);

    const replay = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(repoRoot, 'src', 'cli', 'main.ts'), 'replay', '--data', setup.dataDir], { cwd: repoRoot, encoding: 'utf8' });
    expect(replay.stdout).toContain('replay OK');
    expect(replay.status).toBe(0);
  });
});
