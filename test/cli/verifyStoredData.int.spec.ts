import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify, type VerifyResult } from '../../src/cli/verifyCommand.ts';
import { bytesToHex, sha256 } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { damageEventsIndex, editEvent, flipHex } from '../consensus/startupChecksFixture.ts';
import { writeDataDir, type VerifyFixture } from './verifyFixture.ts';

/**
 * Issue 16, items 1-3: `fedlog verify --data` believes nothing the log derived. It checks
 * FederationConfigured against its own hash, the file with SQLite's integrity check, and every
 * derived field of every session (itemHash, txid, netAssets, SignatureRecorded) against what it
 * is derived from.
 */

let base: VerifyFixture;
const dirs: string[] = [];
beforeAll(async () => {
  base = await writeDataDir(3, 12, 29);
  dirs.push(base.dir);
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the fixture's data directory and the path of its log. */
function copy(): { dir: string; logPath: string; keysFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-verify-stored-'));
  dirs.push(dir);
  cpSync(base.dir, dir, { recursive: true });
  return { dir, logPath: join(dir, 'log.sqlite'), keysFile: join(dir, 'keys.json') };
}

async function verify(dir: string, keysFile: string): Promise<VerifyResult & { lines: string[] }> {
  const lines: string[] = [];
  const result = await runVerify({ data: dir, keys: keysFile, progress: false, workers: 1, print: (line) => lines.push(line), warn: () => {} });
  return { ...result, lines };
}

async function findings(dir: { dir: string; keysFile: string }): Promise<string[]> {
  const result = await verify(dir.dir, dir.keysFile);
  expect(result.exitCode, result.lines.join('\n')).toBe(1);
  expect(result.lines.at(-1)).toMatch(/^verify FAILED/);
  return result.report!.findings.map((f) => `[${f.kind}]${'session' in f ? ` session ${f.session}` : ''}${'index' in f ? ` item ${f.index}` : ''}: ${f.detail}`);
}

describe('fedlog verify --data, on stored data edited after the fact', () => {
  it('passes the untouched log', async () => {
    const dir = copy();
    const result = await verify(dir.dir, dir.keysFile);
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
  });

  it.each([
    ['the withdraw fee set to 0', (data: Record<string, unknown>) => ((data.modules as { wallet: { withdrawFeeMsat: string } }).wallet.withdrawFeeMsat = '0')],
    ['the threshold', (data: Record<string, unknown>) => (data.threshold = 2)],
    ['sessionSeconds', (data: Record<string, unknown>) => (data.sessionSeconds = 1)],
    [
      "a peer's key",
      (data: Record<string, unknown>) => {
        const other = bytesToHex(nobleBackend.publicKey(sha256(new TextEncoder().encode('another guardian'))));
        (data.keys as Record<string, string>)['0'] = other;
        (data.peers as Array<{ pubkey: string }>)[0]!.pubkey = other;
      },
    ],
  ])('refuses a FederationConfigured with %s, which no longer matches its consensus hash', async (_, change) => {
    const dir = copy();
    editEvent(dir.logPath, 'federation', 'FederationConfigured', 0, change);
    expect(await findings(dir)).toContainEqual(expect.stringMatching(/^\[federation\]: consensusHash [0-9a-f]{64} is not the hash of the recorded fields/));
  });

  it('refuses a file whose events index has a damaged byte', async () => {
    const dir = copy();
    damageEventsIndex(dir.logPath);
    expect(await findings(dir)).toContainEqual(expect.stringMatching(/^\[file\]: .*log\.sqlite.*missing from index/));
  });

  it('refuses a flipped itemHash of an ItemAccepted', async () => {
    const dir = copy();
    editEvent(dir.logPath, 'session-1', 'ItemAccepted', 4, (data) => (data.itemHash = flipHex(data.itemHash as string)));
    expect(await findings(dir)).toContainEqual(expect.stringMatching(/^\[stored\] session 1 item 4: stored itemHash [0-9a-f]{64} is not the hash of its item and peer/));
  });

  it('refuses a flipped txid of an ItemAccepted', async () => {
    const dir = copy();
    let edited = -1;
    editEvent(dir.logPath, 'session-2', 'ItemAccepted', 1, (data) => {
      data.txid = flipHex(data.txid as string);
      edited = data.index as number;
    });
    expect(await findings(dir)).toContainEqual(expect.stringMatching(new RegExp(`^\\[stored\\] session 2 item ${edited}: stored txid [0-9a-f]{64} is not the transaction's txid`)));
  });

  it('refuses an edited netAssets of an ItemAccepted', async () => {
    const dir = copy();
    editEvent(dir.logPath, 'session-0', 'ItemAccepted', 5, (data) => (data.netAssets = String(BigInt(data.netAssets as string) + 1n)));
    expect(await findings(dir)).toContainEqual(expect.stringMatching(/^\[stored\] session 0 item 5: stored netAssets -?\d+ msat, but the ledger's are -?\d+/));
  });

  it('refuses a flipped SignatureRecorded signature', async () => {
    const dir = copy();
    editEvent(dir.logPath, 'session-1', 'SignatureRecorded', 0, (data) => (data.signature = flipHex(data.signature as string, 100)));
    expect(await findings(dir)).toContainEqual('[stored] session 1: SignatureRecorded of peer 0 is marked valid, but it does not verify against the session\'s header');
  });
});
