/**
 * The derived fields of a session's events, recomputed from what they are derived from and
 * compared (issue 16): an ItemAccepted's itemHash and txid from its item bytes, a
 * SignatureRecorded's `valid` from its signature and the session's header. Stored values are
 * served (the API's items) and relied on (a restart takes the open session's item hashes as its
 * merkle leaves), so an edited one must not pass replay, verify or a start. Used by all three.
 */
import { hash } from 'node:crypto';
import type { FederationKeys } from '../domain/federation.ts';
import { hexToBytes, signedDigest } from '../domain/hashing.ts';
import type { SignatureCheck } from '../domain/signatureBackend.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { federationConfiguredProblems } from '../streams/federationConfiguredCheck.ts';

/**
 * The log's FederationConfigured checked against its own hash (federationConfiguredProblems);
 * `configured`, the guardian config's, names the fields an edit changed. A log without one has
 * nothing to check here (its sessions' signatures then fail for want of keys).
 */
export async function storedFederationProblems(log: EventLog, configured?: FederationConfigured): Promise<string[]> {
  const [event] = await log.readStream(streams.federation, { maxCount: 1 });
  return event !== undefined && isEvent(event, 'FederationConfigured') ? federationConfiguredProblems(event.data, configured) : [];
}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** Where the BigSize reader of `txidOfItem` stands (module state: no tuple allocated per read). */
let cursor = 0;

/** The BigSize at `cursor`, advancing past it; -1 when the bytes end first. Minimality is the item decoder's concern. */
function bigSizeAt(bytes: Uint8Array): number {
  const first = bytes[cursor];
  if (first === undefined) return -1;
  const width = first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
  if (width === 9 || cursor + width > bytes.length) return -1;
  let value = first;
  if (width === 3) value = (bytes[cursor + 1]! << 8) | bytes[cursor + 2]!;
  else if (width === 5) value = bytes[cursor + 1]! * 0x1000000 + ((bytes[cursor + 2]! << 16) | (bytes[cursor + 3]! << 8) | bytes[cursor + 4]!);
  cursor += width;
  return value;
}

/**
 * The txid (hex) of a transaction item from its consensus bytes: sha256 of the transaction's
 * encoding up to and including its nonce (DESIGN.md: enc(inputs) || enc(outputs) || nonce),
 * found by walking the length prefixes, without decoding module bodies (replay does this for every
 * transaction it reads, beside the ledger's own decoding). Undefined for a module item, or bytes
 * not framed as a transaction item.
 */
export function txidOfItem(itemBytes: Uint8Array): string | undefined {
  cursor = 0;
  if (bigSizeAt(itemBytes) !== 0 || bigSizeAt(itemBytes) < 0) return undefined;
  const start = cursor;
  for (let part = 0; part < 2; part++) {
    const count = bigSizeAt(itemBytes);
    if (count < 0) return undefined;
    for (let i = 0; i < count; i++) {
      const module = bigSizeAt(itemBytes);
      const length = module < 0 ? -1 : bigSizeAt(itemBytes);
      if (length < 0 || cursor + length > itemBytes.length) return undefined;
      cursor += length;
    }
  }
  cursor += 8;
  if (cursor > itemBytes.length) return undefined;
  return hash('sha256', itemBytes.subarray(start, cursor), 'hex');
}

/** What an ItemAccepted states beside its item. */
export interface StoredItemFields {
  itemHash: string;
  txid?: string;
}

/**
 * How `stored` differs from what its item gives, one line each (empty: it holds). `leaf` is
 * sha256(enc(AcceptedItem)) of the item's bytes and peer, which the caller computes anyway (the
 * header's merkle leaf).
 */
export function storedItemProblems(stored: StoredItemFields, itemBytes: Uint8Array, leaf: Uint8Array): readonly string[] {
  const txid = txidOfItem(itemBytes);
  if (txid === stored.txid && equalsHex(leaf, stored.itemHash)) return NONE;
  const leafHex = hexOf(leaf);
  const problems: string[] = [];
  if (leafHex !== stored.itemHash) problems.push(`stored itemHash ${stored.itemHash} is not the hash of its item and peer (${leafHex})`);
  if (txid === undefined) {
    if (stored.txid !== undefined) problems.push(`stored txid ${stored.txid} on an item that is not a transaction`);
  } else if (stored.txid !== txid) problems.push(stored.txid === undefined ? `no stored txid for a transaction (its txid is ${txid})` : `stored txid ${stored.txid} is not the transaction's txid (${txid})`);
  return problems;
}

const NONE: readonly string[] = Object.freeze([]);

const HEX_DIGITS = [...'0123456789abcdef'].map((digit) => digit.charCodeAt(0));

/** bytes === hex, without making the hex of `bytes` (replay compares a leaf for every item it reads). */
function equalsHex(bytes: Uint8Array, hex: string): boolean {
  if (hex.length !== 2 * bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (hex.charCodeAt(2 * i) !== HEX_DIGITS[byte >> 4] || hex.charCodeAt(2 * i + 1) !== HEX_DIGITS[byte & 15]) return false;
  }
  return true;
}

/** A SignatureRecorded's fields. */
export interface RecordedSignature {
  peer: number;
  signature: string;
  valid: boolean;
}

/** The signature checks a session's SignatureRecorded events need, and how to read their answers. */
export interface RecordedSignaturesPlan {
  checks: SignatureCheck[];
  /** One line per SignatureRecorded whose `valid` is not what verifying it says; `answers` has one per check. */
  conclude(answers: readonly boolean[]): string[];
}

/**
 * Plans the check of each SignatureRecorded of a session against its header (recomputed from the
 * items: a signature of a stated header that does not match them proves nothing). A signature
 * marked valid must verify under its peer's federation key; one marked invalid must not.
 */
export function planRecordedSignatures(records: readonly RecordedSignature[], header: Uint8Array, keys: FederationKeys, tag: Uint8Array): RecordedSignaturesPlan {
  const digest = signedDigest(tag, header);
  const checks: SignatureCheck[] = [];
  const checked: RecordedSignature[] = [];
  const problems: string[] = [];
  for (const record of records) {
    const publicKey = keys.get(record.peer);
    if (publicKey === undefined) {
      if (record.valid) problems.push(`SignatureRecorded of peer ${record.peer}, who is not in the federation, is marked valid`);
      continue;
    }
    checks.push({ signature: hexToBytes(record.signature), message: digest, publicKey });
    checked.push(record);
  }
  return {
    checks,
    conclude(answers) {
      if (answers.length !== checks.length) throw new RangeError(`${answers.length} answers for ${checks.length} recorded signature checks`);
      const found = [...problems];
      checked.forEach((record, i) => {
        if (answers[i] === record.valid) return;
        found.push(`SignatureRecorded of peer ${record.peer} is marked ${record.valid ? 'valid' : 'invalid'}, but it ${answers[i] === true ? 'verifies' : 'does not verify'} against the session's header`);
      });
      return found;
    },
  };
}
