import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { ledgerAudit, initialLedgerState, ledgerRules, processItem } from '../../src/domain/ledger.ts';
import { createModules, defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit } from '../../src/domain/modules/wallet.ts';
import { sessionHeader, signedSessionOutcomeFromJson, verifySignedSessionOutcome } from '../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { buildTransaction, encodeTransaction } from '../../src/domain/transaction.ts';
import { http, initGuardian, runGuardian, type GuardianSetup, type RunningGuardian } from './spawnGuardian.ts';

const USER = hexToBytes('00000000000000000000000000000000000000000000000000000000000000c1');
const OWNER = nobleBackend.publicKey(USER);
let nonce = 0;
const tx = (inputs: Parameters<typeof buildTransaction>[0]['inputs'], outputs: Parameters<typeof buildTransaction>[0]['outputs']) => {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, ++nonce);
  const built = buildTransaction({ inputs, outputs, secretKeysPerInput: inputs.map(() => USER), nonce: n });
  return { hex: bytesToHex(encodeTransaction(built.tx)), txid: bytesToHex(built.txid) };
};

type Signed = { session: number; header: string; items: { peer: number; item: string }[]; signatures: Record<string, string> };
type Sheet = { session: number; itemCount: number; modules: { module: number; name: string; msat: string }[]; netAssets: string };

describe('one guardian over HTTP (fedlog run)', () => {
  let dir: string;
  let setup: GuardianSetup;
  let guardian: RunningGuardian;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedlog-e2e-'));
    setup = await initGuardian(dir, 1);
    guardian = await runGuardian(setup);
  });
  afterAll(async () => {
    if (guardian.child.exitCode === null) {
      guardian.child.kill('SIGKILL');
      await guardian.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts transactions, seals sessions whose signed outcomes verify, and its audit history matches a recomputation', async () => {
    const { url, adminToken } = setup;
    const federation = await http<{ peers: { id: number; pubkey: string }[]; threshold: number }>(`${url}/v1/federation`);
    expect(federation.status).toBe(200);
    expect(federation.json.threshold).toBe(1);
    const keys = new Map(federation.json.peers.map((p) => [p.id, hexToBytes(p.pubkey)]));

    const depositId = '11'.repeat(32);
    const deposit = await http(`${url}/v1/admin/deposits`, { method: 'POST', token: adminToken, body: { depositId, amount: '50000000', recipient: bytesToHex(OWNER) } });
    expect(deposit.status).toBe(202);
    expect((await http(`${url}/v1/admin/deposits`, { method: 'POST', body: { depositId, amount: '1', recipient: bytesToHex(OWNER) } })).status).toBe(401);

    const claim = tx([claimDeposit(hexToBytes(depositId))], [issueNote(50_000_000n, OWNER)]);
    let submitted = await http(`${url}/v1/transactions`, { method: 'POST', body: { tx: claim.hex } });
    for (let i = 0; submitted.status === 400 && i < 100; i++) {
      // The deposit is confirmed once recorded; until then the claim's dry run refuses it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      submitted = await http(`${url}/v1/transactions`, { method: 'POST', body: { tx: claim.hex } });
    }
    expect(submitted).toMatchObject({ status: 202, json: { txid: claim.txid } });
    const status = await http<{ status: string; session: number }>(`${url}/v1/transactions/${claim.txid}?wait=5000`);
    expect(status.json.status).toBe('accepted');

    const spend = tx([spendNote(hexToBytes(claim.txid), 0)], [issueNote(49_000_000n, OWNER)]);
    expect((await http(`${url}/v1/transactions`, { method: 'POST', body: { tx: spend.hex } })).status).toBe(202);
    expect((await http<{ status: string }>(`${url}/v1/transactions/${spend.txid}?wait=5000`)).json.status).toBe('accepted');
    // Resubmitting is answered 200; spending the same note again is refused.
    expect((await http(`${url}/v1/transactions`, { method: 'POST', body: { tx: spend.hex } })).status).toBe(200);
    const doubleSpend = tx([spendNote(hexToBytes(claim.txid), 0)], [issueNote(1n, OWNER)]);
    expect((await http(`${url}/v1/transactions`, { method: 'POST', body: { tx: doubleSpend.hex } })).status).toBe(400);

    const lastSession = (await http<{ status: string; session: number }>(`${url}/v1/transactions/${spend.txid}`)).json.session;
    const sealed = await http<Signed>(`${url}/v1/sessions/${lastSession}/signed?wait=10000`);
    expect(sealed.status).toBe(200);

    // Every session so far: the signed outcome verifies with the domain's functions and the federation's keys alone.
    const rules = ledgerRules({ peerCount: 1, modules: createModules() });
    let ledger = initialLedgerState(rules);
    const sheets = (await http<{ sheets: Sheet[] }>(`${url}/v1/audit/history?from=0&to=${lastSession}`)).json.sheets;
    const seen: string[] = [];
    for (let session = 0; session <= lastSession; session++) {
      const signed = await http<Signed>(`${url}/v1/sessions/${session}/signed`);
      expect(signed.status).toBe(200);
      const decoded = signedSessionOutcomeFromJson(signed.json, defaultModuleCodecs);
      if (!decoded.ok) throw new Error(`session ${session} does not decode`);
      expect(bytesToHex(sessionHeader(session, decoded.value.outcome))).toBe(signed.json.header);
      expect(verifySignedSessionOutcome(keys, session, decoded.value)).toBe(true);
      for (const { item, peer } of decoded.value.outcome.items) {
        const outcome = processItem(rules, ledger, item, peer);
        if (!outcome.ok) throw new Error(`session ${session}: a signed item is rejected on recomputation: ${outcome.reason}`);
        ledger = outcome.state;
        if (outcome.txid !== undefined) seen.push(bytesToHex(outcome.txid));
      }
      const audit = ledgerAudit(rules, ledger);
      const sheet = sheets.find((s) => s.session === session);
      expect(sheet, `audit sheet of session ${session}`).toBeDefined();
      expect(sheet!.netAssets).toBe(audit.netAssets.toString());
      expect(sheet!.itemCount).toBe(decoded.value.outcome.items.length);
      expect(sheet!.modules.map((m) => [m.module, m.name, m.msat])).toEqual(audit.modules.map((m) => [m.module, m.name, m.msat.toString()]));
    }
    expect(seen).toEqual([claim.txid, spend.txid]);
    // 50,000,000 claimed, a 49,000,000 note outstanding: 1,000,000 msat of surplus.
    expect(sheets.find((s) => s.session === lastSession)!.netAssets).toBe('1000000');
  });

  it('stops cleanly on SIGTERM', async () => {
    guardian.child.kill('SIGTERM');
    expect(await guardian.exited).toBe(0);
    expect(guardian.output()).toContain('guardian stopped');
  });
});
