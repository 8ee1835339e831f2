/**
 * Submissions: what clients and the admin hand this guardian to be ordered. Each is decoded,
 * dry-run against the committed ledger state, its signatures verified (batched, off the loop), and
 * queued for the ordering to propose. Beside the engine, not in its loop: the engine only reads
 * `submission(item)` to reuse what admission already checked.
 */
import { AuditFailure } from '../../domain/audit.ts';
import { encodeConsensusItem, type ConsensusItem } from '../../domain/consensusItem.ts';
import { Writer } from '../../domain/encoding.ts';
import type { PeerId } from '../../domain/federation.ts';
import { hexToBytes } from '../../domain/hashing.ts';
import { processItem, type LedgerRules, type LedgerState } from '../../domain/ledger.ts';
import { codecRegistry } from '../../domain/module.ts';
import { depositObserved, WALLET_INSTANCE, type WalletState } from '../../domain/modules/wallet.ts';
import type { SignatureCheck } from '../../domain/signatureBackend.ts';
import { decodeTransaction, MAX_TRANSACTION_BYTES, txidOfEncoded } from '../../domain/transaction.ts';
import { nativeAcceptedItemHash, nativeSha256 } from '../../projections/nativeSha256.ts';
import type { ConsensusMetrics } from '../metrics.ts';
import { bytesOfHex, hexOf } from './nodeHex.ts';
import type { SignatureChecker } from './signatureChecks.ts';
import { createSubmissionQueue, type Submission, type SubmissionQueue } from './submissionQueue.ts';

export type SubmitOutcome =
  | { kind: 'queued'; txid: string }
  | { kind: 'alreadyAccepted'; txid: string }
  | { kind: 'invalid'; reason: string; txid?: string }
  | { kind: 'queueFull'; retryAfterSeconds: number };

export interface Submissions {
  submitTransaction(txHex: string): Promise<SubmitOutcome>;
  /** Admin: a deposit this guardian observed. The returned id is the item's hash (sha256(enc(AcceptedItem))). */
  observeDeposit(d: { depositId: string; amount: bigint; recipient: string }): Promise<SubmitOutcome>;
  /** The queue the ordering proposes from. */
  readonly queue: SubmissionQueue;
  /** The admitted submission behind an item this guardian proposed (same object), if any. */
  submission(item: ConsensusItem): Submission | undefined;
  /** From now on every submission is answered "retry later". */
  stop(): void;
}

export interface SubmissionsOptions {
  self: PeerId;
  rules: LedgerRules;
  checker: SignatureChecker;
  capacity: number;
  /** The committed ledger state (what has been durably recorded). */
  state(): LedgerState;
  metrics?: ConsensusMetrics;
}

/**
 * enc(ConsensusItem::Transaction) from the transaction's own bytes: variant 0, then the body with
 * its length. Only for bytes `decodeTransaction` accepted: decoding accepts nothing but the unique
 * canonical encoding, so these bytes are exactly what re-encoding the decoded transaction would give.
 */
function transactionItemBytes(tx: Uint8Array): Uint8Array {
  const writer = new Writer(tx.length + 6);
  writer.bigSizeNumber(0);
  writer.bigSizeNumber(tx.length);
  writer.raw(tx);
  return writer.finish();
}

// A full queue drains at roughly one batch per commit; a second is a fair, conservative hint.
const RETRY_AFTER_SECONDS = 1;
const STOPPING: SubmitOutcome = { kind: 'queueFull', retryAfterSeconds: 5 };

export function createSubmissions(options: SubmissionsOptions): Submissions {
  const { self, checker, metrics } = options;
  const queue = createSubmissionQueue(options.capacity);
  const registry = codecRegistry(options.rules.modules);
  // The engine reuses admission's work (encoding, leaf hash, verified signatures) for its own items.
  const admitted = new WeakMap<ConsensusItem, Submission>();
  let stopping = false;

  // The dry run collects the checks instead of verifying inline, so they can be verified in batches.
  let collected: SignatureCheck[] = [];
  const dryRunRules: LedgerRules = {
    ...options.rules,
    verify: (signature, message, publicKey) => {
      collected.push({ signature, message, publicKey });
      return true;
    },
  };

  const invalid = (reason: string, txid: string | undefined): SubmitOutcome => ({ kind: 'invalid', reason, ...(txid === undefined ? {} : { txid }) });

  const admit = async (item: ConsensusItem, encoded: Uint8Array, key: string, txid: string | undefined, encodedTransaction?: Uint8Array): Promise<SubmitOutcome> => {
    if (stopping) return STOPPING;
    if (queue.isPending(key)) return { kind: 'queued', txid: key };
    if (queue.size >= queue.capacity) return { kind: 'queueFull', retryAfterSeconds: RETRY_AFTER_SECONDS };
    collected = [];
    let dry;
    try {
      dry = processItem(dryRunRules, options.state(), item, self, encodedTransaction);
    } catch (error) {
      // Accepting it would break the audit; the engine would halt on it, so refuse it at the door.
      if (error instanceof AuditFailure) return invalid('it would make the federation insolvent', txid);
      throw error;
    }
    const checks = collected;
    collected = [];
    if (!dry.ok) return invalid(dry.reason, txid);
    let results: boolean[];
    try {
      results = await checker.verify(checks);
    } catch (error) {
      // The guardian closes its verifier when it stops: a submission caught mid-check gets the stopping answer, not a 500.
      if (stopping) return STOPPING;
      throw error;
    }
    // Stopped while verifying: nothing will take the item any more, so do not claim it is queued.
    if (stopping) return STOPPING;
    const bad = results.indexOf(false);
    if (bad >= 0) return invalid(`input ${bad}: invalid signature`, txid);
    // The state may have moved while verifying: answer duplicates consistently.
    if (txid !== undefined && options.state().acceptedTxids.has(txid)) return { kind: 'alreadyAccepted', txid };
    if (queue.isPending(key)) return { kind: 'queued', txid: key };
    const submission: Submission = {
      item,
      encoded,
      key,
      itemHash: nativeAcceptedItemHash(encoded, self),
      verified: checks,
      submittedAt: performance.now(),
      ...(txid === undefined ? {} : { txid }),
      ...(encodedTransaction === undefined ? {} : { encodedTransaction }),
    };
    if (!queue.push(submission)) return { kind: 'queueFull', retryAfterSeconds: RETRY_AFTER_SECONDS };
    admitted.set(item, submission);
    metrics?.queueDepth.set(queue.size);
    return { kind: 'queued', txid: key };
  };

  return {
    async submitTransaction(txHex) {
      const bytes = bytesOfHex(txHex);
      if (bytes === undefined) return { kind: 'invalid', reason: 'tx must be non-empty hex of whole bytes' };
      if (bytes.length > MAX_TRANSACTION_BYTES + 16) return { kind: 'invalid', reason: `transaction is more than ${MAX_TRANSACTION_BYTES} bytes` };
      const decoded = decodeTransaction(bytes, registry);
      if (!decoded.ok) return { kind: 'invalid', reason: `malformed transaction: ${decoded.error.kind}${decoded.error.message ? ` (${decoded.error.message})` : ''}` };
      const tx = decoded.value;
      const txid = hexOf(txidOfEncoded(bytes, tx.signatures.length, nativeSha256));
      if (options.state().acceptedTxids.has(txid)) return { kind: 'alreadyAccepted', txid };
      // The ledger hashes these bytes for the txid instead of re-encoding the transaction, twice (dry run and engine).
      const encoded = transactionItemBytes(bytes);
      return admit({ kind: 'transaction', tx }, encoded, txid, txid, encoded.subarray(encoded.length - bytes.length));
    },
    async observeDeposit(d) {
      if (!/^[0-9a-f]{64}$/.test(d.depositId) || !/^[0-9a-f]{64}$/.test(d.recipient)) return { kind: 'invalid', reason: 'depositId and recipient must be 32 bytes of lowercase hex' };
      if (d.amount <= 0n || d.amount > 0xffff_ffff_ffff_ffffn) return { kind: 'invalid', reason: 'amount must be a positive u64 (msat)' };
      const item = depositObserved({ depositId: hexToBytes(d.depositId), amount: d.amount, recipient: hexToBytes(d.recipient) });
      const encoded = encodeConsensusItem(item);
      const key = hexOf(nativeAcceptedItemHash(encoded, self));
      // A deposit feeder retries after a timeout: the identical deposit, already confirmed, is an
      // idempotent success; a different amount or recipient under the same id stays a rejection.
      const confirmed = (options.state().modules.get(WALLET_INSTANCE) as WalletState | undefined)?.deposits.get(d.depositId);
      if (confirmed !== undefined && confirmed.amount === d.amount && hexOf(confirmed.recipient) === d.recipient) return { kind: 'alreadyAccepted', txid: key };
      return admit(item, encoded, key, undefined);
    },
    queue,
    submission: (item) => admitted.get(item),
    stop() {
      stopping = true;
    },
  };
}
