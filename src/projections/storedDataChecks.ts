/**
 * The derived fields of a session's events, recomputed from what they are derived from and
 * compared (issue 16): an ItemAccepted's itemHash and txid from its item bytes, a
 * SignatureRecorded's `valid` from its signature and the session's header. Stored values are
 * served (the API's items) and relied on (a restart takes the open session's item hashes as its
 * merkle leaves), so an edited one must not pass replay, verify or a start. Used by all three.
 */
import { DecodeFailure, Reader } from '../domain/encoding.ts';
import type { FederationKeys } from '../domain/federation.ts';
import { hexToBytes, signedDigest } from '../domain/hashing.ts';
import type { SignatureCheck } from '../domain/signatureBackend.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { federationConfiguredProblems } from '../streams/federationConfiguredCheck.ts';
import { nativeSha256 } from './nativeSha256.ts';

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

/**
 * The txid of a transaction item from its consensus bytes: sha256 of the transaction's encoding up
 * to and including its nonce (DESIGN.md: enc(inputs) || enc(outputs) || nonce), without decoding
 * module bodies. Undefined for a module item, or bytes not framed as an item.
 */
export function txidOfItem(itemBytes: Uint8Array, hash: (data: Uint8Array) => Uint8Array = nativeSha256): Uint8Array | undefined {
  try {
    const reader = new Reader(itemBytes);
    if (reader.bigSizeNumber() !== 0) return undefined;
    reader.lengthPrefix();
    const start = reader.offset;
    for (let part = 0; part < 2; part++) {
      const count = reader.lengthPrefix();
      for (let i = 0; i < count; i++) {
        reader.bigSizeNumber(0xffff);
        reader.raw(reader.lengthPrefix());
      }
    }
    reader.raw(8);
    return hash(itemBytes.subarray(start, reader.offset));
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return undefined;
    throw thrown;
  }
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
export function storedItemProblems(stored: StoredItemFields, itemBytes: Uint8Array, leaf: Uint8Array): string[] {
  const problems: string[] = [];
  const leafHex = hexOf(leaf);
  if (leafHex !== stored.itemHash) problems.push(`stored itemHash ${stored.itemHash} is not the hash of its item and peer (${leafHex})`);
  const txid = txidOfItem(itemBytes);
  if (txid === undefined) {
    if (stored.txid !== undefined) problems.push(`stored txid ${stored.txid} on an item that is not a transaction`);
  } else {
    const computed = hexOf(txid);
    if (stored.txid !== computed) problems.push(stored.txid === undefined ? `no stored txid for a transaction (its txid is ${computed})` : `stored txid ${stored.txid} is not the transaction's txid (${computed})`);
  }
  return problems;
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
