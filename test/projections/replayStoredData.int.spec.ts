import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay, type ReplayThreads } from '../../src/cli/replayCommand.ts';
import type { ReplayProblem } from '../../src/projections/replay/replay.ts';
import { bytesToHex, sha256 } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { damageEventsIndex, editEvent, flipHex } from '../consensus/startupChecksFixture.ts';
import { checkpointedSqliteLog } from './sessionLogFixture.ts';

/**
 * Issue 16, items 1-3: `fedlog replay` believes nothing the log derived. It checks the file with
 * SQLite's integrity check, FederationConfigured against its own hash, and recomputes every
 * derived field it reads (itemHash, txid, SignatureRecorded), on one thread and on two.
 */

let base: string;
const dirs: string[] = [];
beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'fedlog-replay-stored-'));
  dirs.push(base);
  const { log } = await checkpointedSqliteLog(base, { sessions: 4, seed: 41 });
  await log.close();
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copy(): { dir: string; logPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-replay-stored-copy-'));
  dirs.push(dir);
  cpSync(base, dir, { recursive: true });
  return { dir, logPath: join(dir, 'log.sqlite') };
}

async function replayed(dir: string, threads: ReplayThreads = '1'): Promise<{ ok: boolean; problems: ReplayProblem[]; lines: string[] }> {
  const lines: string[] = [];
  const ok = await runReplay({ data: dir, json: true, threads, print: (line) => lines.push(line) });
  const report = JSON.parse(lines.at(-1)!) as { ok: boolean; problems: ReplayProblem[] };
  expect(report.ok).toBe(ok);
  return { ok, problems: report.problems, lines };
}

const otherKey = () => bytesToHex(nobleBackend.publicKey(sha256(new TextEncoder().encode('another guardian'))));

describe('fedlog replay, on stored data edited after the fact', () => {
  it('passes the untouched log', async () => {
    const { ok, problems } = await replayed(copy().dir);
    expect(problems).toEqual([]);
    expect(ok).toBe(true);
  });

  it.each([
    ['the withdraw fee set to 0', (data: Record<string, unknown>) => ((data.modules as { wallet: { withdrawFeeMsat: string } }).wallet.withdrawFeeMsat = '0')],
    ['the threshold', (data: Record<string, unknown>) => (data.threshold = 2)],
    ['sessionSeconds', (data: Record<string, unknown>) => (data.sessionSeconds = 1)],
    [
      "a peer's key",
      (data: Record<string, unknown>) => {
        const other = otherKey();
        (data.keys as Record<string, string>)['0'] = other;
        (data.peers as Array<{ pubkey: string }>)[0]!.pubkey = other;
      },
    ],
  ])('fails on a FederationConfigured with %s, which no longer matches its consensus hash', async (_, change) => {
    const dir = copy();
    editEvent(dir.logPath, 'federation', 'FederationConfigured', 0, change);
    const { ok, problems } = await replayed(dir.dir);
    expect(ok).toBe(false);
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'federation', detail: expect.stringMatching(/^consensusHash [0-9a-f]{64} is not the hash of the recorded fields/) }));
  });

  it('fails on a file whose events index has a damaged byte (which reading by position never touches)', async () => {
    const dir = copy();
    damageEventsIndex(dir.logPath);
    const { ok, problems, lines } = await replayed(dir.dir);
    expect(ok).toBe(false);
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'file', detail: expect.stringContaining('missing from index') }));
    expect(lines.join('\n')).toContain(dir.logPath);
  });

  it.each(['1', '2'] as const)('fails on a flipped itemHash, a flipped txid and a flipped SignatureRecorded (threads %s)', async (threads) => {
    const dir = copy();
    editEvent(dir.logPath, 'session-1', 'ItemAccepted', 3, (data) => (data.itemHash = flipHex(data.itemHash as string)));
    let txidAt = -1;
    editEvent(dir.logPath, 'session-2', 'ItemAccepted', 1, (data) => {
      data.txid = flipHex(data.txid as string);
      txidAt = data.index as number;
    });
    editEvent(dir.logPath, 'session-3', 'SignatureRecorded', 0, (data) => (data.signature = flipHex(data.signature as string, 100)));
    const { ok, problems } = await replayed(dir.dir, threads);
    expect(ok).toBe(false);
    expect(problems).toContainEqual({ kind: 'header', session: 1, detail: expect.stringMatching(/^item 3: stored itemHash [0-9a-f]{64} is not the hash of its item and peer/) });
    expect(problems).toContainEqual({ kind: 'header', session: 2, detail: expect.stringMatching(new RegExp(`^item ${txidAt}: stored txid [0-9a-f]{64} is not the transaction's txid`)) });
    expect(problems).toContainEqual({ kind: 'signature', session: 3, detail: "SignatureRecorded of peer 0 is marked valid, but it does not verify against the session's header" });
  });
});
