import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { depositObserved } from '../../src/domain/modules/wallet.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { OutcomeRefusedError } from '../../src/replica/outcomeImport.ts';
import { startReplica, type Replica } from '../../src/replica/replica.ts';
import { startFakeGuardian, type FakeGuardian } from './fakeGuardian.ts';

/**
 * A replica trusts signatures, not the guardian: a guardian that serves an outcome the federation
 * did not sign (a deposit it made up, items swapped under a real signature, a header that is not
 * its items') is refused with a clear error, and nothing of it is recorded or served.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(seed: number): Promise<{ guardian: FakeGuardian; replica: Replica; dir: string }> {
  const guardian = await startFakeGuardian(seed);
  cleanups.push(() => guardian.close());
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-replica-forged-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  // Session 0: honest and empty.
  guardian.sessions.push({ items: [] });
  const replica = await startReplica({ from: guardian.url, dataDir: dir, port: 0, pollWaitMs: 50, logger: pino({ level: 'silent' }) });
  cleanups.push(() => replica.stop());
  await vi.waitFor(() => expect(replica.status().sessions).toBe(1));
  return { guardian, replica, dir };
}

function madeUpDeposit(seed: number) {
  const random = seededRandom(seed);
  const bytes = () => Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
  return depositObserved({ depositId: bytes(), amount: 5_000_000n, recipient: nobleBackend.publicKey(bytes()) });
}

const get = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;

describe('a replica following a guardian that serves forged outcomes', () => {
  it('refuses a deposit the federation never signed (the signature is over the honest, empty session)', async () => {
    const { guardian, replica } = await setUp(17);
    const items = [{ peer: 0, item: madeUpDeposit(1) }];
    guardian.sessions.push({ items, signatures: { '0': guardian.sign(1, []) } });
    const refusal = await replica.following.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OutcomeRefusedError);
    expect((refusal as Error).message).toBe("session 1: refused the guardian's signed outcome: only 0 of the 1 signatures needed verify against the federation keys (invalid signatures from peers 0)");
    const status = await get(`${replica.url}/v1/replica`);
    expect(status).toMatchObject({ state: 'refused', sessions: 1, error: (refusal as Error).message });
    // Nothing of session 1 is served, the verified past still is.
    expect(((await get(`${replica.url}/v1/sessions`)).sessions as unknown[]).length).toBe(1);
    expect((await fetch(`${replica.url}/v1/sessions/1/signed`)).status).toBe(404);
    expect(await (await fetch(`${replica.url}/metrics`)).text()).toContain('fedlog_replica_state{state="refused"} 1');
  });

  it('refuses a header that is not the header of the items served, even when it carries the real signature', async () => {
    const { guardian, replica } = await setUp(18);
    const honest = [{ peer: 0, item: madeUpDeposit(2) }];
    // Signed honestly, then served with another item under the honest header and signature.
    guardian.sessions.push({ items: [{ peer: 0, item: madeUpDeposit(3) }], header: guardian.headerOf(1, honest), signatures: { '0': guardian.sign(1, honest) } });
    const refusal = await replica.following.catch((error: unknown) => error);
    expect((refusal as Error).message).toMatch(/^session 1: refused the guardian's signed outcome: the header served \([0-9a-f]{80}\) is not the header of the items served \([0-9a-f]{80}\)$/);
    expect(replica.status().state).toBe('refused');
  });

  it('refuses signatures from outside the federation', async () => {
    const { guardian, replica } = await setUp(19);
    guardian.sessions.push({ items: [], signatures: { '7': guardian.sign(1, []) } });
    const refusal = await replica.following.catch((error: unknown) => error);
    expect((refusal as Error).message).toContain('only 0 of the 1 signatures needed verify against the federation keys (signers outside the federation: 7)');
  });

  it('records an honest signed outcome, deposit and all', async () => {
    const { guardian, replica } = await setUp(20);
    guardian.sessions.push({ items: [{ peer: 0, item: madeUpDeposit(4) }] });
    await vi.waitFor(() => expect(replica.status().sessions).toBe(2));
    expect(await get(`${replica.url}/v1/audit`)).toMatchObject({ session: 1, itemCount: 1 });
    expect(replica.status()).toMatchObject({ state: 'caughtUp', lagSessions: 0 });
  });
});
