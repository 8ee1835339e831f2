/**
 * Writes a realistic single-guardian log into any EventLog: FederationConfigured, then sessions of
 * deposits, 1-input claim/spend/withdraw transactions with real BIP-340 signatures, a few rejected
 * double spends, and SessionCompleted with the real header and a real guardian signature. Items are
 * run through the domain ledger, so netAssets and every acceptance are what the engine would record.
 * Deterministic: same options, same log.
 */
import { sha256, bytesToHex, header as sessionHeaderOf } from '../../src/domain/hashing.ts';
import { encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import { createKeychain, type Keychain } from '../../src/domain/keychain.ts';
import { initialLedgerState, ledgerRules, processItem, type LedgerState } from '../../src/domain/ledger.ts';
import { claimDeposit, depositObserved, withdraw } from '../../src/domain/modules/wallet.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { createModules } from '../../src/domain/modules/consensusModules.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { fastestBackend } from '../../src/runtime/signatures/fastest.ts';
import { buildTransaction, type Input, type Output } from '../../src/domain/transaction.ts';
import type { EventLog, EventToAppend, Position } from '../../src/streams/eventLog.ts';
import { newEvent, streams, type FederationConfigured } from '../../src/streams/events.ts';
import { federationConsensusHash } from '../../src/streams/federationConfiguredCheck.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { join } from 'node:path';
import { startProjections, type ProjectionHost } from '../../src/projections/projectionHost.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';

export const GUARDIAN_SECRET = secret('guardian 0');

export interface SessionLogOptions {
  sessions: number;
  itemsPerSession: number;
  seed?: number;
  /** Called after each SessionCompleted is appended (e.g. to take checkpoints). */
  afterSession?: (session: number, position: Position) => Promise<void>;
}

/** An `afterSession` that checkpoints `host` once it has processed each session's completion. */
export function checkpointEachSession(host: Pick<ProjectionHost, 'waitFor' | 'checkpoint'>): NonNullable<SessionLogOptions['afterSession']> {
  return async (session, position) => {
    await host.waitFor(position);
    await host.checkpoint(session);
  };
}

/**
 * A schema-checked SQLite file log (`<dir>/log.sqlite`, event times one second apart) of `sessions`
 * sessions of 12 items, with a checkpoint of every standard projection after each session.
 */
export async function checkpointedSqliteLog(dir: string, options: { sessions: number; seed: number }): Promise<{ log: EventLog; path: string; fixture: SessionLogSummary }> {
  const path = join(dir, 'log.sqlite');
  let tick = 0;
  const log = withEventSchemas(createSqliteEventLog(path), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
  // A retention of every session: each checkpoint is kept (checkpointTiers.ts).
  const host = await startProjections(log, { retention: Math.max(1, options.sessions) });
  const fixture = await writeSessionLog(log, { sessions: options.sessions, itemsPerSession: 12, seed: options.seed, afterSession: checkpointEachSession(host) });
  await host.stop();
  return { log, path, fixture };
}

export interface SessionLogSummary {
  keychain: Keychain;
  federation: FederationConfigured;
  /** Position of each session's SessionCompleted. */
  completedAt: Position[];
  events: number;
}

function secret(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`fedlog fixture ${label}`));
}

export function federationFor(keychain: Keychain): FederationConfigured {
  const pubkey = bytesToHex(keychain.publicKey);
  const fields = {
    peers: [{ id: 0, pubkey, apiUrl: 'http://127.0.0.1:8174' }],
    threshold: 1,
    sessionSeconds: 60,
    roundDelayMs: 50,
    roundsPerSession: 3600,
    modules: { wallet: { withdrawFeeMsat: '1000' }, mint: {} },
    checkpointRetention: 1,
    keys: { '0': pubkey },
  };
  // The real hash of these fields: replay and verify check it (issue 16).
  return { ...fields, consensusHash: federationConsensusHash(fields) };
}

interface Note {
  txid: Uint8Array;
  index: number;
  amount: bigint;
  owner: number;
}

export async function writeSessionLog(log: EventLog, options: SessionLogOptions): Promise<SessionLogSummary> {
  const backend = fastestBackend();
  const random = seededRandom(options.seed ?? 1);
  const keychain = createKeychain({ federation: new Map([[0, backend.publicKey(GUARDIAN_SECRET)]]), secretKey: GUARDIAN_SECRET, backend });
  const owners = Array.from({ length: 16 }, (_, i) => {
    const secretKey = secret(`owner ${i}`);
    return { secretKey, publicKey: backend.publicKey(secretKey) };
  });
  const federation = federationFor(keychain);
  await log.append(streams.federation, [newEvent('FederationConfigured', federation)]);
  let events = 1;

  // Signatures are made right here, so checking them again would only slow the fixture down.
  const rules = ledgerRules({ peerCount: 1, modules: createModules(), verify: () => true });
  let ledger: LedgerState = initialLedgerState(rules);
  const notes: Note[] = [];
  let counter = 0;
  const completedAt: Position[] = [];

  for (let session = 0; session < options.sessions; session++) {
    const batch: EventToAppend[] = [];
    const leaves: Uint8Array[] = [];
    const accept = (item: ConsensusItem): { txid?: Uint8Array } => {
      const outcome = processItem(rules, ledger, item, 0);
      if (!outcome.ok) throw new Error(`fixture item rejected: ${outcome.reason}`);
      ledger = outcome.state;
      const encoded = encodeConsensusItem(item);
      const leaf = acceptedItemHashOfEncoded(encoded, 0);
      batch.push(
        newEvent('ItemAccepted', {
          session,
          index: leaves.length,
          peer: 0,
          item: bytesToHex(encoded),
          itemHash: bytesToHex(leaf),
          ...(outcome.txid === undefined ? {} : { txid: bytesToHex(outcome.txid) }),
          netAssets: outcome.audit.netAssets.toString(),
        }),
      );
      leaves.push(leaf);
      return outcome.txid === undefined ? {} : { txid: outcome.txid };
    };
    const transact = (inputs: Input[], outputs: Output[], signers: Uint8Array[]) => {
      const nonce = new Uint8Array(8);
      new DataView(nonce.buffer).setUint32(4, ++counter);
      const { tx } = buildTransaction({ inputs, outputs, secretKeysPerInput: signers, nonce, backend });
      return accept({ kind: 'transaction', tx }).txid!;
    };

    while (leaves.length < options.itemsPerSession) {
      const roll = random();
      if (notes.length < 4 || roll < 0.1) {
        const depositId = sha256(new TextEncoder().encode(`deposit ${++counter}`));
        const amount = BigInt(100_000 + Math.floor(random() * 1_000_000));
        const recipient = Math.floor(random() * owners.length);
        accept(depositObserved({ depositId, amount, recipient: owners[recipient]!.publicKey }));
        const owner = Math.floor(random() * owners.length);
        const txid = transact([claimDeposit(depositId)], [issueNote(amount, owners[owner]!.publicKey)], [owners[recipient]!.secretKey]);
        notes.push({ txid, index: 0, amount, owner });
        continue;
      }
      const note = notes.splice(Math.floor(random() * notes.length), 1)[0]!;
      const signer = owners[note.owner]!.secretKey;
      if (roll < 0.15 && note.amount > 10_000n) {
        transact([spendNote(note.txid, note.index)], [withdraw(sha256(note.txid), note.amount - 1_000n)], [signer]);
      } else if (roll < 0.4 && note.amount > 2n) {
        const half = note.amount / 2n;
        const a = Math.floor(random() * owners.length);
        const b = Math.floor(random() * owners.length);
        const txid = transact([spendNote(note.txid, note.index)], [issueNote(half, owners[a]!.publicKey), issueNote(note.amount - half, owners[b]!.publicKey)], [signer]);
        notes.push({ txid, index: 0, amount: half, owner: a }, { txid, index: 1, amount: note.amount - half, owner: b });
      } else {
        const owner = Math.floor(random() * owners.length);
        const txid = transact([spendNote(note.txid, note.index)], [issueNote(note.amount, owners[owner]!.publicKey)], [signer]);
        notes.push({ txid, index: 0, amount: note.amount, owner });
        if (roll > 0.95) {
          // A double spend of the note just spent: what the engine records for it.
          batch.push(newEvent('ItemRejected', { session, peer: 0, itemHash: bytesToHex(sha256(txid)), txid: bytesToHex(sha256(note.txid)), reason: 'input 0: note already spent' }));
        }
      }
    }
    await log.append(streams.session(session), batch);
    events += batch.length;
    const headerBytes = sessionHeaderOf(session, leaves);
    const signature = bytesToHex(keychain.sign(headerBytes));
    // As the engine records it: its own signature, then the completion, in one append.
    const completed = await log.append(streams.session(session), [
      newEvent('SignatureRecorded', { session, peer: 0, signature, valid: true }),
      newEvent('SessionCompleted', { session, header: bytesToHex(headerBytes), itemCount: leaves.length, signatures: { '0': signature }, source: 'local' }),
    ]);
    events += 2;
    completedAt.push(completed.position);
    await options.afterSession?.(session, completed.position);
  }
  return { keychain, federation, completedAt, events };
}
