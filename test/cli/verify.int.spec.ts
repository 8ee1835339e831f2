import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify, type VerifyOptions } from '../../src/cli/verifyCommand.ts';
import { bytesToHex, hexToBytes, sha256 } from '../../src/domain/hashing.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import { editCompletion, itemRows, outsiderSignature, resign, setData, tamper, writeDataDir, type VerifyFixture } from './verifyFixture.ts';

const SESSIONS = 4;
const ITEMS = 40;

async function verify(options: VerifyOptions) {
  const out: string[] = [];
  const warnings: string[] = [];
  const result = await runVerify({ progress: false, workers: 1, print: (l) => out.push(l), warn: (l) => warnings.push(l), ...options });
  return { ...result, out, warnings };
}

describe('fedlog verify --data', () => {
  let fixture: VerifyFixture;
  beforeAll(async () => {
    fixture = await writeDataDir(SESSIONS, ITEMS);
  });
  afterAll(() => rmSync(fixture.dir, { recursive: true, force: true }));

  it('verifies every session of an untouched log and exits 0, warning that the keys came from the source', async () => {
    const reportFile = join(fixture.dir, 'report.json');
    const { exitCode, report, out, warnings } = await verify({ data: fixture.dir, report: reportFile });
    expect(exitCode).toBe(0);
    expect(report!.findings).toEqual([]);
    expect(report!.sessions.map((s) => [s.session, s.headerOk, s.signatures.valid, s.signatures.threshold])).toEqual(Array.from({ length: SESSIONS }, (_, i) => [i, true, 1, 1]));
    // The fixture closes a session at the first deposit-and-claim pair that reaches ITEMS.
    expect(report!.sessions.every((s) => s.items === ITEMS || s.items === ITEMS + 1)).toBe(true);
    const items = report!.sessions.reduce((sum, s) => sum + s.items, 0);
    expect(report!.keys.origin).toBe('source');
    expect(warnings.join('\n')).toMatch(/keys were taken from the source/);
    // A balance sheet per session, with net assets never below zero and both module lines.
    for (const s of report!.sessions) {
      expect(BigInt(s.balanceSheet!.netAssets)).toBeGreaterThanOrEqual(0n);
      expect(s.balanceSheet!.modules.map((l) => l.name)).toEqual(['reserves', 'outstanding notes']);
    }
    expect(out.at(-1)).toMatch(new RegExp(`^verify OK: sessions 0\\.\\.3, ${items} items`));
    expect(out[0]).toMatch(/session\s+items\s+header\s+signatures\s+net assets \(msat\)\s+reserves\s+outstanding notes/);
    const written = JSON.parse(readFileSync(reportFile, 'utf8')) as typeof report;
    expect(written).toEqual(JSON.parse(JSON.stringify(report)));
    expect(written!.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(written!.source).toMatchObject({ kind: 'data', dir: fixture.dir });
  });

  it('accepts matching pinned keys (also as a saved /v1/federation answer) without the warning', async () => {
    const { exitCode, report, warnings } = await verify({ data: fixture.dir, keys: fixture.keysFile });
    expect(exitCode).toBe(0);
    expect(report!.keys).toMatchObject({ origin: 'pinned', file: fixture.keysFile });
    expect(warnings.join('\n')).not.toMatch(/keys were taken/);
    const federationFile = join(fixture.dir, 'federation.json');
    writeFileSync(federationFile, JSON.stringify({ peers: [{ id: 0, pubkey: bytesToHex(fixture.keychain.publicKey), apiUrl: 'http://x' }], threshold: 1, consensusHash: '00' }));
    expect((await verify({ data: fixture.dir, keys: federationFile })).exitCode).toBe(0);
  });

  it('flags keys that do not match the pinned ones, and checks signatures against the pinned keys', async () => {
    const wrong = join(fixture.dir, 'wrong-keys.json');
    const other = bytesToHex(fastestBackend().publicKey(sha256(new TextEncoder().encode('another key'))));
    writeFileSync(wrong, JSON.stringify({ '0': other }));
    const { exitCode, report } = await verify({ data: fixture.dir, keys: wrong });
    expect(exitCode).toBe(1);
    expect(report!.findings[0]).toMatchObject({ kind: 'keys' });
    expect(report!.findings[0]!.detail).toMatch(/peer 0: the source's key [0-9a-f]{64} is not the pinned/);
    // The guardian's signatures do not verify under the auditor's keys.
    expect(report!.findings.filter((f) => f.kind === 'signatures')).toHaveLength(SESSIONS);
  });

  it('verifies headers and signatures only when starting after session 0, and says so', async () => {
    const { exitCode, report, warnings } = await verify({ data: fixture.dir, from: 2 });
    expect(exitCode).toBe(0);
    expect(report!.sessions.map((s) => s.session)).toEqual([2, 3]);
    expect(report!.sessions.every((s) => s.balanceSheet === undefined)).toBe(true);
    expect(report!.balanceSheets.recomputed).toBe(false);
    expect(report!.balanceSheets.note).toMatch(/need every session from 0/);
    expect(warnings.join('\n')).toMatch(/need every session from 0/);
  });

  it('exits 2 on usage and I/O errors', async () => {
    expect((await verify({})).exitCode).toBe(2);
    expect((await verify({ data: fixture.dir, url: 'http://127.0.0.1:1' })).exitCode).toBe(2);
    const missing = await verify({ data: join(fixture.dir, 'nowhere') });
    expect(missing.exitCode).toBe(2);
    expect(missing.error).toMatch(/no config\.json or log\.sqlite/);
    const beyond = await verify({ data: fixture.dir, to: SESSIONS });
    expect(beyond.exitCode).toBe(2);
    expect(beyond.error).toMatch(/only sessions 0\.\.3 are complete/);
    const badKeys = join(fixture.dir, 'bad-keys.json');
    writeFileSync(badKeys, '{"0": "nothex"}');
    expect((await verify({ data: fixture.dir, keys: badKeys })).exitCode).toBe(2);
  });
});

describe('fedlog verify finds what was tampered with', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const fresh = async () => {
    const fixture = await writeDataDir(3, 30, 11);
    dirs.push(fixture.dir);
    return fixture;
  };

  it('an item changed after signing: header mismatch, and the signatures no longer cover the items', async () => {
    const { dir } = await fresh();
    tamper(dir, (db) => {
      // Swap items 3 and 4 of session 1: every item is still valid on its own.
      const [a, b] = itemRows(db, 1).slice(3, 5) as [{ rowid: number; data: string }, { rowid: number; data: string }];
      const da = JSON.parse(a.data) as { item: string; peer: number };
      const db2 = JSON.parse(b.data) as { item: string; peer: number };
      setData(db, a.rowid, { ...(JSON.parse(a.data) as object), item: db2.item });
      setData(db, b.rowid, { ...(JSON.parse(b.data) as object), item: da.item });
    });
    const { exitCode, report, out } = await verify({ data: dir });
    expect(exitCode).toBe(1);
    const session1 = report!.findings.filter((f) => 'session' in f && f.session === 1);
    expect(session1.map((f) => f.kind)).toEqual(expect.arrayContaining(['header', 'signatures']));
    expect(report!.findings.every((f) => 'session' in f && f.session === 1)).toBe(true);
    expect(report!.sessions[1]!.headerOk).toBe(false);
    expect(report!.sessions[0]!.headerOk && report!.sessions[2]!.headerOk).toBe(true);
    expect(out.join('\n')).toMatch(/MISMATCH/);
    expect(out.at(-1)).toMatch(/^verify FAILED/);
  });

  it('a missing or forged signature leaves the session below threshold', async () => {
    const { dir, keychain } = await fresh();
    tamper(dir, (db) => {
      editCompletion(db, 0, (data) => (data.signatures = {}));
      editCompletion(db, 2, (data) => (data.signatures = { '0': outsiderSignature(keychain, data.header) }));
    });
    const { exitCode, report } = await verify({ data: dir });
    expect(exitCode).toBe(1);
    expect(report!.findings.map((f) => [f.kind, 'session' in f ? f.session : -1])).toEqual([
      ['signatures', 0],
      ['signatures', 2],
    ]);
    expect(report!.findings[0]!.detail).toBe('0 valid federation signatures of 0 present, threshold is 1');
    expect(report!.sessions.map((s) => s.signatures.valid)).toEqual([0, 1, 0]);
    // Headers still match: only the signatures are wrong.
    expect(report!.sessions.every((s) => s.headerOk)).toBe(true);
  });

  it('a signature from a peer outside the federation does not count', async () => {
    const { dir, keychain } = await fresh();
    tamper(dir, (db) => editCompletion(db, 1, (data) => (data.signatures = { '7': bytesToHex(keychain.sign(hexToBytes(data.header))) })));
    const { exitCode, report } = await verify({ data: dir });
    expect(exitCode).toBe(1);
    expect(report!.findings).toEqual([expect.objectContaining({ kind: 'signatures', session: 1, valid: 0, threshold: 1 })]);
  });

  it('a properly signed outcome holding a transaction with an invalid signature is a finding at its index', async () => {
    const { dir, keychain } = await fresh();
    let tamperedIndex = -1;
    tamper(dir, (db) => {
      const rows = itemRows(db, 1);
      // The first transaction of session 1 (its item starts with variant 0); its last 64 bytes are its only signature.
      const index = rows.findIndex((row) => (JSON.parse(row.data) as { item: string }).item.startsWith('00'));
      const row = rows[index]!;
      const data = JSON.parse(row.data) as { item: string };
      const last = data.item.slice(-2);
      data.item = data.item.slice(0, -2) + (last === 'ff' ? '00' : 'ff');
      setData(db, row.rowid, data);
      tamperedIndex = index;
      // A dishonest guardian signs the outcome as it now stands: header and signatures are valid.
      resign(db, 1, keychain);
    });
    const { exitCode, report } = await verify({ data: dir });
    expect(exitCode).toBe(1);
    expect(report!.sessions.every((s) => s.headerOk && s.signatures.valid === 1)).toBe(true);
    const first = report!.findings[0]!;
    expect(first).toMatchObject({ kind: 'item', session: 1, index: tamperedIndex });
    expect(first.detail).toMatch(/rejected by the ledger: input 0: invalid signature \(txid [0-9a-f]{64}\)/);
  });
});
