import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../src/domain/keychain.ts';
import { hexToBytes } from '../../src/domain/hashing.ts';
import { http } from './spawnGuardian.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { expectAgreement, loadOn, federationPerTest, sessionCount, until } from './federationProcesses.ts';

const newFederation = federationPerTest();

describe('a federation of four guardian processes over mutual TLS', () => {
  it('agrees: transactions submitted to different guardians are accepted once, every guardian holds the same headers, signatures and audit history', async () => {
    const f = await newFederation(seededRandom(101));
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

  it('stops all four at the same session when a shutdown is scheduled', async () => {
    const f = await newFederation(seededRandom(104));
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
