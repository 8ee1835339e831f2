/**
 * A single guardian's data directory written by a real guardian (SQLite log, real sessions,
 * deposits claimed into notes), copied per test and edited through SQL, as a careless operator or
 * an attacker with the disk would edit it.
 */
import { cpSync, mkdtempSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { initFederation } from '../../src/cli/initCommand.ts';
import { loadGuardianConfig, sqliteLogPath, type GuardianConfig } from '../../src/consensus/config.ts';
import { startGuardian, type Guardian } from '../../src/consensus/guardian.ts';
import { bytesToHex, sha256 } from '../../src/domain/hashing.ts';
import { issueNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit } from '../../src/domain/modules/wallet.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { buildTransaction, encodeTransaction } from '../../src/domain/transaction.ts';

export interface GuardianDir {
  /** The folder holding guardian-0/ (copy it whole). */
  root: string;
  configFile: string;
  config: GuardianConfig;
  logPath: string;
}

const RECIPIENT_KEY = sha256(new TextEncoder().encode('startup checks recipient'));
const OWNER = nobleBackend.publicKey(sha256(new TextEncoder().encode('startup checks owner')));

function open(root: string): GuardianDir {
  const configFile = join(root, 'guardian-0', 'config.json');
  const config = loadGuardianConfig(configFile);
  return { root, configFile, config, logPath: sqliteLogPath(config) };
}

export function startQuietly(config: GuardianConfig): Promise<Guardian> {
  return startGuardian(config, { logger: pino({ level: 'silent' }), signatureWorkers: 0 });
}

/**
 * Runs a guardian once: `deposits` deposits observed and each claimed into a note (two items
 * each, one a transaction). With `seal`, it stops as soon as the session holding them completes
 * (so that session is the newest completed one); without, at once (with long sessions every item
 * stays in the open session).
 */
export async function writeGuardianDir(options: { sessionSeconds: number; deposits: number; seal: boolean }): Promise<GuardianDir> {
  const root = mkdtempSync(join(tmpdir(), 'fedlog-startup-'));
  initFederation({ peers: 1, out: root, sessionSeconds: options.sessionSeconds });
  const dir = open(root);
  const guardian = await startQuietly(dir.config);
  try {
    const recipient = bytesToHex(nobleBackend.publicKey(RECIPIENT_KEY));
    for (let i = 0; i < options.deposits; i++) {
      const depositId = sha256(new TextEncoder().encode(`startup checks deposit ${i}`));
      const amount = 10_000n + BigInt(i);
      const observed = await guardian.observeDeposit({ depositId: bytesToHex(depositId), amount, recipient });
      if (observed.kind !== 'queued') throw new Error(`deposit ${i}: ${JSON.stringify(observed)}`);
      await accepted(guardian, observed.txid);
      const nonce = new Uint8Array(8);
      new DataView(nonce.buffer).setUint32(4, i + 1);
      const { tx } = buildTransaction({ inputs: [claimDeposit(depositId)], outputs: [issueNote(amount, OWNER)], secretKeysPerInput: [RECIPIENT_KEY], nonce });
      const claimed = await guardian.submitTransaction(bytesToHex(encodeTransaction(tx)));
      if (claimed.kind !== 'queued') throw new Error(`claim ${i}: ${JSON.stringify(claimed)}`);
      await accepted(guardian, claimed.txid);
    }
    const holding = guardian.currentSession();
    const deadline = Date.now() + 20_000;
    while (options.seal && guardian.currentSession() <= holding) {
      if (Date.now() > deadline) throw new Error(`session ${holding} did not complete`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await guardian.stop();
  }
  return dir;
}

async function accepted(guardian: Guardian, txid: string): Promise<void> {
  const status = await guardian.transactionStatus(txid, 10_000);
  if (status.status !== 'accepted') throw new Error(`${txid}: ${JSON.stringify(status)}`);
}

/** A copy of the whole directory, to edit without touching the original. */
export function copyGuardianDir(dir: GuardianDir): GuardianDir {
  const root = mkdtempSync(join(tmpdir(), 'fedlog-startup-copy-'));
  cpSync(dir.root, root, { recursive: true });
  return open(root);
}

interface Row {
  position: number;
  data: string;
}

/** Edits the JSON data of one event (found by stream and type; `nth` among them, from the end when negative). */
export function editEvent(logPath: string, stream: string, type: string, nth: number, change: (data: Record<string, unknown>) => void): void {
  const db = new Database(logPath);
  try {
    const rows = db.prepare<[string, string], Row>('SELECT position, data FROM events WHERE stream = ? AND type = ? ORDER BY revision').all(stream, type);
    const row = rows.at(nth);
    if (row === undefined) throw new Error(`no ${type} #${nth} in ${stream} (${rows.length} of them)`);
    const data = JSON.parse(row.data) as Record<string, unknown>;
    change(data);
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify(data), row.position);
  } finally {
    db.close();
  }
}

/**
 * Flips one bit of a stream name in a key of the events index's root page (`session-` becomes
 * `sdssion-`): the row is then missing from the index, which SQLite's quick_check does not look
 * at and integrity_check does, and that session's stream reads without it.
 */
export function damageEventsIndex(logPath: string): void {
  const db = new Database(logPath);
  let root: number;
  let pageSize: number;
  try {
    root = db.prepare<[], { rootpage: number }>("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").get()!.rootpage;
    pageSize = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  const fd = openSync(logPath, 'r+');
  try {
    const page = Buffer.alloc(pageSize);
    readSync(fd, page, 0, pageSize, (root - 1) * pageSize);
    const key = page.lastIndexOf('session-');
    if (key < 0) throw new Error('no session key on the index root page');
    const at = (root - 1) * pageSize + key + 1;
    writeSync(fd, Buffer.of(page[key + 1]! ^ 0x01), 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

export function flipHex(hex: string, at = 0): string {
  const digit = (parseInt(hex[at]!, 16) ^ 1).toString(16);
  return hex.slice(0, at) + digit + hex.slice(at + 1);
}

