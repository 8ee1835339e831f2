/**
 * What a guardian checks of its own log before it starts (issue 16): what a restart relies on,
 * and no more, so that a long log starts as fast as a short one:
 *   - FederationConfigured against its own consensusHash (the fee, threshold, keys it runs under);
 *   - the SQLite file (PRAGMA integrity_check): a restart reads its streams through the events
 *     index, and a damaged key there hides events; quick_check does not compare the index with the
 *     table, and costs about half as much (60 against 100 ms on a 55k-event, 40 MB log);
 *   - the newest completed session: items against their hashes and txids, header, item count,
 *     and its threshold of signatures (what it serves peers and what the next session follows);
 *   - the open session's recorded items against their hashes and txids: a restart takes those
 *     hashes as its merkle leaves and replays the items into the ledger.
 * Anything wrong refuses the start with a StoredLogError naming the log and what is wrong.
 */
import { federationTag, type FederationKeys } from '../domain/federation.ts';
import { bytesToHex, header as sessionHeader, hexToBytes } from '../domain/hashing.ts';
import { checkSignedOutcome } from '../domain/signedOutcomeCheck.ts';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';
import { nativeAcceptedItemHash, nativeHashPair } from '../projections/nativeSha256.ts';
import { planRecordedSignatures, storedItemProblems, type RecordedSignature } from '../projections/storedDataChecks.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { federationConfiguredProblems } from '../streams/federationConfiguredCheck.ts';
import type { EventLogLocation } from '../streams/openEventLog.ts';
import { sqliteIntegrityProblems } from '../streams/sqliteIntegrity.ts';
import { completedSessionCount } from './engine/openSession.ts';

/** The guardian's log does not hold what it claims: the guardian refuses to start on it. */
export class StoredLogError extends Error {
  override readonly name = 'StoredLogError';
}

export interface StoredLogCheckOptions {
  location: EventLogLocation;
  /** The log's FederationConfigured (its hash already equal to the config's). */
  recorded: FederationConfigured;
  /** The config's, to name the fields an edit of the log changed. */
  configured: FederationConfigured;
  /** Verifies the newest session's signatures (a handful; default noble). */
  backend?: SchnorrBackend;
}

export async function checkStoredLog(log: EventLog, options: StoredLogCheckOptions): Promise<void> {
  const where = describeLocation(options.location);
  const refuse = (what: string, problems: readonly string[]) => {
    if (problems.length > 0) throw new StoredLogError(`${where}: ${what}: ${problems.join('; ')}; refusing to start on it`);
  };
  const { recorded } = options;
  refuse('the recorded FederationConfigured does not hold', federationConfiguredProblems(recorded, options.configured));
  if (options.location.kind === 'sqlite' && options.location.path !== ':memory:') {
    refuse('the SQLite file is damaged (PRAGMA integrity_check)', sqliteIntegrityProblems(options.location.path, 'full'));
  }
  const keys: FederationKeys = new Map(Object.entries(recorded.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  const open = await completedSessionCount(log);
  if (open > 0) refuse(`session ${open - 1} (the newest completed)`, await completedSessionProblems(log, open - 1, keys, options.backend ?? nobleBackend));
  refuse(`session ${open} (the open session)`, (await readSession(log, open)).problems);
}

function describeLocation(location: EventLogLocation): string {
  if (location.kind === 'sqlite') return `log ${location.path}`;
  if (location.kind === 'eventstoredb') return `log ${location.url}`;
  return 'the in-memory log';
}

interface ReadSession {
  leaves: Uint8Array[];
  signatures: RecordedSignature[];
  completed?: { header: string; itemCount: number; signatures: Record<string, string> };
  problems: string[];
}

/** A session's stream with every item checked against its stored hash, txid and index. */
async function readSession(log: EventLog, session: number): Promise<ReadSession> {
  const read: ReadSession = { leaves: [], signatures: [], problems: [] };
  for (const event of await log.readStream(streams.session(session))) {
    if (isEvent(event, 'ItemAccepted')) {
      const { index, peer, item } = event.data;
      if (index !== read.leaves.length) read.problems.push(`item index ${index} where ${read.leaves.length} was expected`);
      const bytes = hexToBytes(item);
      const leaf = nativeAcceptedItemHash(bytes, peer);
      for (const problem of storedItemProblems(event.data, bytes, leaf)) read.problems.push(`item ${index}: ${problem}`);
      read.leaves.push(leaf);
    } else if (isEvent(event, 'SignatureRecorded')) {
      read.signatures.push(event.data);
    } else if (isEvent(event, 'SessionCompleted')) {
      read.completed = event.data;
    }
  }
  return read;
}

async function completedSessionProblems(log: EventLog, session: number, keys: FederationKeys, backend: SchnorrBackend): Promise<string[]> {
  const read = await readSession(log, session);
  const { problems, completed } = read;
  if (completed === undefined) return [...problems, 'no SessionCompleted'];
  const header = sessionHeader(session, read.leaves, nativeHashPair);
  if (bytesToHex(header) !== completed.header) problems.push(`stored header ${completed.header} is not the header of its items (${bytesToHex(header)})`);
  if (completed.itemCount !== read.leaves.length) problems.push(`itemCount ${completed.itemCount}, but ${read.leaves.length} items were accepted`);
  const tag = federationTag(keys);
  const check = checkSignedOutcome({ header, signatures: completed.signatures, keys, tag, backend });
  if (!check.met) problems.push(`${check.valid.length} valid federation signatures of its items' header, threshold is ${check.threshold}`);
  const recorded = planRecordedSignatures(read.signatures, header, keys, tag);
  problems.push(...recorded.conclude(recorded.checks.map((c) => backend.verify(c.signature, c.message, c.publicKey))));
  return problems;
}
