/**
 * A guardian data directory for `fedlog verify` tests: the projections' realistic session log
 * (real items, real headers, real guardian signatures) in a log.sqlite, and surgical edits of it
 * through SQL, as someone tampering with a guardian's disk would make them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bytesToHex, header, hexToBytes, sha256 } from '../../src/domain/hashing.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import type { Keychain } from '../../src/domain/keychain.ts';
import { openEventLog } from '../../src/streams/openEventLog.ts';
import { writeSessionLog } from '../projections/sessionLogFixture.ts';

export interface VerifyFixture {
  dir: string;
  keychain: Keychain;
  /** A pinned keys file with the right key. */
  keysFile: string;
}

export async function writeDataDir(sessions: number, itemsPerSession: number, seed = 7): Promise<VerifyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-verify-'));
  const log = await openEventLog({ kind: 'sqlite', path: join(dir, 'log.sqlite') }, { guardian: 0 });
  const { keychain } = await writeSessionLog(log, { sessions, itemsPerSession, seed });
  await log.close();
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify({ '0': bytesToHex(keychain.publicKey) }));
  return { dir, keychain, keysFile };
}

interface Row {
  rowid: number;
  data: string;
}

/** Direct SQL on the log file, bypassing every check the guardian would make. */
export function tamper(dir: string, edit: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'log.sqlite'));
  try {
    edit(db);
  } finally {
    db.close();
  }
}

export function itemRows(db: Database.Database, session: number): Row[] {
  return db.prepare<[string], Row>("SELECT position AS rowid, data FROM events WHERE stream = ? AND type = 'ItemAccepted' ORDER BY revision").all(`session-${session}`);
}

export function setData(db: Database.Database, rowid: number, data: unknown): void {
  db.prepare('UPDATE events SET data = ? WHERE rowid = ?').run(JSON.stringify(data), rowid);
}

/** Rewrites SessionCompleted's signatures (and, with `resign`, its header: what a dishonest guardian would sign). */
export function editCompletion(db: Database.Database, session: number, change: (data: { header: string; itemCount: number; signatures: Record<string, string> }) => void): void {
  const row = db.prepare<[string], Row>("SELECT position AS rowid, data FROM events WHERE stream = ? AND type = 'SessionCompleted'").get(`session-${session}`)!;
  const data = JSON.parse(row.data) as { header: string; itemCount: number; signatures: Record<string, string> };
  change(data);
  setData(db, row.rowid, data);
}

/** The header of session `session` as its ItemAccepted rows now stand, signed by the guardian's own key. */
export function resign(db: Database.Database, session: number, keychain: Keychain): void {
  const leaves = itemRows(db, session).map((row) => {
    const { item, peer } = JSON.parse(row.data) as { item: string; peer: number };
    return acceptedItemHashOfEncoded(hexToBytes(item), peer);
  });
  const headerBytes = header(session, leaves);
  editCompletion(db, session, (data) => {
    data.header = bytesToHex(headerBytes);
    data.signatures = { '0': bytesToHex(keychain.sign(headerBytes)) };
  });
}

/** A valid BIP-340 signature by a key outside the federation. */
export function outsiderSignature(keychain: Keychain, headerHex: string): string {
  const backend = fastestBackend();
  const digest = sha256(new Uint8Array([...keychain.tag, ...hexToBytes(headerHex)]));
  return bytesToHex(backend.sign(digest, sha256(new TextEncoder().encode('not a guardian'))));
}
