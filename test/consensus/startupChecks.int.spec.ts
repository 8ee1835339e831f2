import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, sha256 } from '../../src/domain/hashing.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { copyGuardianDir, damageEventsIndex, editEvent, flipHex, startQuietly, writeGuardianDir, type GuardianDir } from './startupChecksFixture.ts';

/**
 * Issue 16, items 1 and 2: a guardian checks, before it starts, what a restart relies on, and
 * refuses a log that does not hold it with a message that names the file and what is wrong.
 */

const copies: GuardianDir[] = [];
afterAll(() => {
  for (const dir of copies.splice(0)) rmSync(dir.root, { recursive: true, force: true });
});

function copy(base: GuardianDir): GuardianDir {
  const dir = copyGuardianDir(base);
  copies.push(dir);
  return dir;
}

/** Starts a guardian on `dir` and stops it again; the start's error, if it is refused. */
async function startError(dir: GuardianDir): Promise<Error | undefined> {
  try {
    const guardian = await startQuietly(dir.config);
    await guardian.stop();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

async function refusal(dir: GuardianDir): Promise<string> {
  const error = await startError(dir);
  expect(error, 'the guardian started').toBeDefined();
  expect(error!.name).toBe('StoredLogError');
  expect(error!.message).toContain(dir.logPath);
  expect(error!.message).toContain('refusing to start');
  return error!.message;
}

describe('a guardian starting on a log whose open session holds items', () => {
  let base: GuardianDir;
  beforeAll(async () => {
    // 60 s sessions: the two deposits and their claims stay in the open session 0.
    base = await writeGuardianDir({ sessionSeconds: 60, deposits: 2, seal: false });
    copies.push(base);
  });

  it('starts again on its own log', async () => {
    expect(await startError(copy(base))).toBeUndefined();
  });

  it('refuses a log whose FederationConfigured withdraw fee was set to 0, naming the field', async () => {
    const dir = copy(base);
    editEvent(dir.logPath, 'federation', 'FederationConfigured', 0, (data) => {
      (data.modules as { wallet: { withdrawFeeMsat: string } }).wallet.withdrawFeeMsat = '0';
    });
    const message = await refusal(dir);
    expect(message).toContain('FederationConfigured');
    expect(message).toContain('modules.wallet.withdrawFeeMsat: recorded 0, configured 1000');
  });

  it.each([
    ['threshold', (data: Record<string, unknown>) => (data.threshold = 2), /threshold: recorded 2, configured 1/],
    ['sessionSeconds', (data: Record<string, unknown>) => (data.sessionSeconds = 1), /sessionSeconds: recorded 1, configured 60/],
    [
      "a peer's key",
      (data: Record<string, unknown>) => {
        const other = bytesToHex(nobleBackend.publicKey(sha256(new TextEncoder().encode('another guardian'))));
        (data.keys as Record<string, string>)['0'] = other;
        (data.peers as Array<{ pubkey: string }>)[0]!.pubkey = other;
      },
      /keys\.0: recorded [0-9a-f]{64}, configured [0-9a-f]{64}/,
    ],
  ])('refuses a log whose FederationConfigured %s was edited', async (_, change, named) => {
    const dir = copy(base);
    editEvent(dir.logPath, 'federation', 'FederationConfigured', 0, change);
    expect(await refusal(dir)).toMatch(named);
  });

  it("refuses a log whose open session's item hex was edited", async () => {
    const dir = copy(base);
    // A byte inside the deposit id of the first deposit: still a well-formed item, but another one.
    editEvent(dir.logPath, 'session-0', 'ItemAccepted', 0, (data) => (data.item = flipHex(data.item as string, 12)));
    const message = await refusal(dir);
    expect(message).toContain('session 0 (the open session)');
    expect(message).toMatch(/item 0: stored itemHash [0-9a-f]{64} is not the hash of its item and peer/);
  });

  it("refuses a log whose open session's itemHash or txid was edited", async () => {
    const hashEdited = copy(base);
    editEvent(hashEdited.logPath, 'session-0', 'ItemAccepted', 1, (data) => (data.itemHash = flipHex(data.itemHash as string)));
    expect(await refusal(hashEdited)).toMatch(/item 1: stored itemHash/);
    const txidEdited = copy(base);
    editEvent(txidEdited.logPath, 'session-0', 'ItemAccepted', 1, (data) => (data.txid = flipHex(data.txid as string)));
    expect(await refusal(txidEdited)).toMatch(/item 1: stored txid [0-9a-f]{64} is not the transaction's txid/);
  });
});

describe('a guardian starting on a log with a completed session', () => {
  let base: GuardianDir;
  beforeAll(async () => {
    // Stopped as soon as the session holding the items completes: it is the newest completed one.
    base = await writeGuardianDir({ sessionSeconds: 1, deposits: 1, seal: true });
    copies.push(base);
  });

  it('starts again on its own log', async () => {
    expect(await startError(copy(base))).toBeUndefined();
  });

  it("refuses a log whose newest completed session's signature was flipped", async () => {
    const dir = copy(base);
    editEvent(dir.logPath, 'session-0', 'SessionCompleted', -1, (data) => {
      const signatures = data.signatures as Record<string, string>;
      signatures['0'] = flipHex(signatures['0']!, 100);
    });
    const message = await refusal(dir);
    expect(message).toContain('session 0 (the newest completed)');
    expect(message).toContain('0 valid federation signatures');
  });

  it("refuses a log whose newest completed session's SignatureRecorded was flipped", async () => {
    const dir = copy(base);
    editEvent(dir.logPath, 'session-0', 'SignatureRecorded', -1, (data) => (data.signature = flipHex(data.signature as string, 100)));
    expect(await refusal(dir)).toContain('SignatureRecorded of peer 0 is marked valid, but it does not verify');
  });

  it("refuses a log whose newest completed session's item hex was edited, with its hash to match", async () => {
    const dir = copy(base);
    let itemHash = '';
    editEvent(dir.logPath, 'session-0', 'ItemAccepted', 0, (data) => {
      data.item = flipHex(data.item as string, 12);
      itemHash = data.itemHash as string;
    });
    expect(itemHash).not.toBe('');
    // The hash of the edited item, as a careful editor would write it: the header no longer holds.
    editEvent(dir.logPath, 'session-0', 'ItemAccepted', 0, (data) => (data.itemHash = bytesToHex(acceptedItemHashOfEncoded(hexToBytes(data.item as string), data.peer as number))));
    expect(await refusal(dir)).toMatch(/session 0 \(the newest completed\): stored header [0-9a-f]{80} is not the header of its items/);
  });

  it('refuses a SQLite file whose events index has a damaged byte', async () => {
    const dir = copy(base);
    damageEventsIndex(dir.logPath);
    const message = await refusal(dir);
    expect(message).toContain('the SQLite file is damaged');
    expect(message).toContain('missing from index');
  });
});
