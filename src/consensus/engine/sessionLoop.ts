/**
 * The single-guardian session loop (n = 1; Fedimint's ConsensusEngine with a trivial broadcast).
 * Submitted items are dry-run against the write model and queued; the loop takes them in batches,
 * processes each through the ledger, and appends the batch's ItemAccepted / ItemRejected events to
 * `session-<i>` in ONE append: the append is the commit point, so the write model advances and
 * waiters learn the outcome only once it resolved. After `sessionSeconds` the loop signs header(i)
 * and appends SignatureRecorded + SessionCompleted together, then checkpoints the projections.
 *
 * Restart: the loop reopens the first session without SessionCompleted and continues it from its
 * recorded items (openSession.ts), with the write model seeded from the log (the ledger
 * projection), so an item recorded before a crash is neither lost nor accepted twice.
 */
import { Subject, type Observable } from 'rxjs';
import { AuditFailure } from '../../domain/audit.ts';
import { encodeConsensusItem, type ConsensusItem } from '../../domain/consensusItem.ts';
import { equalBytes, hexToBytes } from '../../domain/hashing.ts';
import type { Keychain } from '../../domain/keychain.ts';
import { processItem, type LedgerRules, type LedgerState } from '../../domain/ledger.ts';
import { depositObserved, WALLET_INSTANCE, type WalletState } from '../../domain/modules/wallet.ts';
import type { SignatureCheck } from '../../domain/signatureBackend.ts';
import { Writer } from '../../domain/encoding.ts';
import { decodeTransaction, MAX_TRANSACTION_BYTES, txidOfEncoded } from '../../domain/transaction.ts';
import { nativeAcceptedItemHash, nativeSha256 } from '../../projections/nativeSha256.ts';
import type { EventLog, EventToAppend, Position } from '../../streams/eventLog.ts';
import { newEvent, streams } from '../../streams/events.ts';
import type { ConsensusMetrics } from '../metrics.ts';
import { createMerkleAccumulator } from '../../projections/merkleAccumulator.ts';
import { findOpenSession, type OpenSession } from './openSession.ts';
import type { SignatureChecker } from './signatureChecks.ts';
import { createSubmissionQueue, type Submission } from './submissionQueue.ts';

export type SubmitOutcome =
  | { kind: 'queued'; txid: string }
  | { kind: 'alreadyAccepted'; txid: string }
  | { kind: 'invalid'; reason: string; txid?: string }
  | { kind: 'queueFull'; retryAfterSeconds: number };

export interface TxStatus {
  txid: string;
  status: 'pending' | 'accepted' | 'rejected' | 'unknown';
  session?: number;
  index?: number;
  reason?: string;
}

export interface SessionSummary {
  session: number;
  header: string;
  itemCount: number;
  /** Wall time the session was open, ms. */
  durationMs: number;
}

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineOptions {
  /** The schema-checked log. */
  log: EventLog;
  keychain: Keychain;
  /** Ledger rules; the engine substitutes its own `verify` (signatures are checked at submission). */
  rules: LedgerRules;
  checker: SignatureChecker;
  sessionSeconds: number;
  queueCapacity: number;
  /** Most items per commit (one append, one fsync). Default 1024. */
  maxBatch?: number;
  /**
   * Longest stretch of item processing without yielding to the event loop, ms (default 8), so the
   * session loop never holds every API request behind it for long.
   */
  maxBatchMs?: number;
  /**
   * How long a busy loop keeps adding slices of items to one commit, ms (default 25). A commit's
   * fsync costs milliseconds on a busy disk almost independently of its size (on the sqlite log's
   * writer thread, no longer on the event loop's), so fewer, larger commits cost less in total; an
   * idle queue commits at once.
   */
  commitWindowMs?: number;
  /**
   * When a completed session is also checkpointed (DESIGN.md: checkpoints are taken when a session
   * completes): only once at least `minEvents` events were appended since `lastPosition`, the
   * newest checkpoint's position (START when there is none). A snapshot costs O(state), so one per
   * session would make the log grow O(sessions x state); this bounds a restart's catch-up to about
   * `minEvents` events plus one session instead. Default { minEvents: 0 }: every session.
   */
  checkpointPolicy?: { minEvents: number; lastPosition: Position };
  /** The ledger state after every event up to and including `position` (the ledger projection). */
  seedLedger(position: Position): Promise<LedgerState>;
  /** After a session completed at `position`: snapshot the projections once they caught up. */
  checkpoint?(session: number, position: Position): Promise<void>;
  metrics?: ConsensusMetrics;
  logger?: EngineLogger;
  now?: () => number;
}

export interface Engine {
  submitTransaction(txHex: string): Promise<SubmitOutcome>;
  /** Admin: a deposit this guardian observed. The returned id is the item's hash (sha256(enc(AcceptedItem))). */
  observeDeposit(d: { depositId: string; amount: bigint; recipient: string }): Promise<SubmitOutcome>;
  /** What the engine itself knows (recent outcomes, pending); undefined when it does not know the txid. */
  knownStatus(txid: string): TxStatus | undefined;
  /** Resolves with the txid's outcome once recorded, or undefined after `waitMs` / on abort. */
  waitForOutcome(txid: string, waitMs: number, signal?: AbortSignal): Promise<TxStatus | undefined>;
  /**
   * `waitForOutcome` for many txids with one timer and one abort listener: resolves, in order, once
   * every outcome is recorded, or with those recorded so far (undefined for the others) after
   * `waitMs` / on abort.
   */
  waitForOutcomes(txids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<(TxStatus | undefined)[]>;
  currentSession(): number;
  scheduleShutdown(afterSession: number): void;
  readonly sessionCompleted$: Observable<SessionSummary>;
  /** Resolves when the loop ended (stop or scheduled shutdown); rejects with the fatal error that halted it. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** An impossible state (negative audit, a failed commit, a conflicting writer): the guardian halts. */
export class ConsensusFailure extends Error {
  override readonly name = 'ConsensusFailure';
}

// Outcomes are remembered only until the transactions projection has surely caught up with them
// (it follows the log within milliseconds); more would only be heap every major GC has to mark.
const RECENT_OUTCOMES = 20_000;

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Lowercase hex through Node's native encoder: one string per call. The domain's portable one
 * builds it a byte at a time, and under load the hex of every recorded item was the session
 * loop's largest source of garbage (a tenth of all bytes allocated on its thread).
 */
function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * The bytes of non-empty hex (either case) of whole bytes, else undefined: Node's decoder, which
 * stops at the first pair that is not hex, so a short count means the text was not all hex. (A
 * regex test and the domain's byte-at-a-time decoder cost the API's thread more, per submission.)
 */
function bytesOfHex(hex: string): Uint8Array | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  const written = Buffer.from(bytes.buffer).write(hex, 'hex');
  return written === bytes.length ? bytes : undefined;
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

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const { log, keychain, checker } = options;
  const self = keychain.peer;
  const now = options.now ?? Date.now;
  const maxBatch = options.maxBatch ?? 1024;
  const maxBatchMs = options.maxBatchMs ?? 8;
  const commitWindowMs = options.commitWindowMs ?? 25;
  const checkpointMinEvents = BigInt(options.checkpointPolicy?.minEvents ?? 0);
  let lastCheckpointAt = options.checkpointPolicy?.lastPosition ?? 0n;
  const metrics = options.metrics;
  const peerLabel = { peer_id: String(self) };
  // Label-bound children: the per-item observations skip hashing the label set every time.
  const itemDuration = metrics?.itemProcessingDuration.labels(peerLabel);
  const processedCount = metrics?.itemsProcessed.labels(peerLabel);
  const rejectedCount = metrics?.itemsRejected.labels(peerLabel);

  const federationEvents = await log.readStream(streams.federation, { maxCount: 1 });
  const configured = federationEvents[0];
  if (configured === undefined) throw new ConsensusFailure('the log has no FederationConfigured event: start the guardian through startGuardian');
  const open: OpenSession = await findOpenSession(log, configured);
  let merkle = createMerkleAccumulator(open.leafHashes);
  let state = await options.seedLedger(open.position);
  let deadline = open.openedAt.getTime() + options.sessionSeconds * 1000;
  metrics?.sessionCount.set(open.session);

  // Signatures were verified at submission; in the loop a check is re-run only if it is not the
  // very check (signature, txid, key) verified then, e.g. if a key could differ under a newer state.
  let preVerified: readonly SignatureCheck[] = [];
  const loopRules: LedgerRules = {
    ...options.rules,
    verify: (signature, message, publicKey) =>
      preVerified.some((c) => equalBytes(c.signature, signature) && equalBytes(c.message, message) && equalBytes(c.publicKey, publicKey)) ||
      keychain.backend.verify(signature, message, publicKey),
  };
  // The dry run collects the checks instead of verifying inline, so they can be verified in batches.
  let collected: SignatureCheck[] = [];
  const dryRunRules: LedgerRules = {
    ...options.rules,
    verify: (signature, message, publicKey) => {
      collected.push({ signature, message, publicKey });
      return true;
    },
  };

  const queue = createSubmissionQueue(options.queueCapacity);
  const recent = new Map<string, TxStatus>();
  const waiters = new Map<string, Set<(status: TxStatus | undefined) => void>>();
  const sessionCompleted$ = new Subject<SessionSummary>();
  const stopController = new AbortController();
  // Long-poll waiters are woken by the stop through one listener, not one each (thousands under load).
  stopController.signal.addEventListener(
    'abort',
    () => {
      for (const set of [...waiters.values()]) for (const wake of [...set]) wake(undefined);
    },
    { once: true },
  );
  let shutdownAfter: number | undefined;
  let stopping = false;
  let checkpoints: Promise<void> = Promise.resolve();

  const remember = (status: TxStatus) => {
    recent.set(status.txid, status);
    if (recent.size > RECENT_OUTCOMES) recent.delete(recent.keys().next().value!);
    const set = waiters.get(status.txid);
    if (set !== undefined) {
      waiters.delete(status.txid);
      for (const wake of set) wake(status);
    }
  };

  const enqueue = async (item: ConsensusItem, encoded: Uint8Array, key: string, txid: string | undefined, encodedTransaction?: Uint8Array): Promise<SubmitOutcome> => {
    if (stopping) return { kind: 'queueFull', retryAfterSeconds: 5 };
    if (queue.isPending(key)) return { kind: 'queued', txid: key };
    if (queue.size >= queue.capacity) return { kind: 'queueFull', retryAfterSeconds: retryAfter() };
    collected = [];
    let dry;
    try {
      dry = processItem(dryRunRules, state, item, self, encodedTransaction);
    } catch (error) {
      // Accepting it would break the audit; the loop would halt on it, so refuse it at the door.
      if (error instanceof AuditFailure) return { kind: 'invalid', reason: 'it would make the federation insolvent', ...(txid === undefined ? {} : { txid }) };
      throw error;
    }
    const checks = collected;
    collected = [];
    if (!dry.ok) return { kind: 'invalid', reason: dry.reason, ...(txid === undefined ? {} : { txid }) };
    let results: boolean[];
    try {
      results = await checker.verify(checks);
    } catch (error) {
      // The guardian closes its verifier when it stops: a submission caught mid-check gets the stopping answer, not a 500.
      if (stopping) return { kind: 'queueFull', retryAfterSeconds: 5 };
      throw error;
    }
    // Stopped while verifying: nothing will take the item any more, so do not claim it is queued.
    if (stopping) return { kind: 'queueFull', retryAfterSeconds: 5 };
    const bad = results.indexOf(false);
    if (bad >= 0) return { kind: 'invalid', reason: `input ${bad}: invalid signature`, ...(txid === undefined ? {} : { txid }) };
    // The state may have moved while verifying: answer duplicates consistently.
    if (txid !== undefined && state.acceptedTxids.has(txid)) return { kind: 'alreadyAccepted', txid };
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
    if (!queue.push(submission)) return { kind: 'queueFull', retryAfterSeconds: retryAfter() };
    metrics?.queueDepth.set(queue.size);
    return { kind: 'queued', txid: key };
  };

  // A full queue drains at roughly one batch per commit; a second is a fair, conservative hint.
  const retryAfter = () => 1;

  /**
   * Takes queued items into one batch, in slices of at most `maxBatchMs` with a yield between them,
   * until the queue is empty, `maxBatch` items or `commitWindowMs`; then commits them in one append.
   * While it yields, submissions keep being dry-run against the committed state: the loop re-checks
   * every item against the batch's own state, so an item that conflicts with the batch is rejected.
   */
  const processBatch = async () => {
    const events: EventToAppend[] = [];
    const outcomes: TxStatus[] = [];
    const leaves: Uint8Array[] = [];
    const batch: Submission[] = [];
    let next = state;
    const windowEnds = performance.now() + commitWindowMs;
    let sliceEnds = performance.now() + maxBatchMs;
    while (batch.length < maxBatch && queue.size > 0) {
      if (batch.length > 0 && performance.now() >= sliceEnds) {
        if (performance.now() >= windowEnds || stopController.signal.aborted) break;
        await new Promise((resolve) => setImmediate(resolve));
        if (queue.size === 0) break;
        sliceEnds = performance.now() + maxBatchMs;
      }
      const submission = queue.take(1)[0]!;
      batch.push(submission);
      preVerified = submission.verified;
      const started = performance.now();
      let outcome;
      try {
        outcome = processItem(loopRules, next, submission.item, self, submission.encodedTransaction);
      } catch (error) {
        throw new ConsensusFailure(error instanceof Error ? error.message : String(error));
      }
      itemDuration?.observe((performance.now() - started) / 1000);
      const itemHash = hexOf(submission.itemHash);
      if (outcome.ok) {
        next = outcome.state;
        const index = merkle.count + leaves.length;
        leaves.push(submission.itemHash);
        events.push(
          newEvent('ItemAccepted', {
            session: open.session,
            index,
            peer: self,
            item: hexOf(submission.encoded),
            itemHash,
            ...(submission.txid === undefined ? {} : { txid: submission.txid }),
            netAssets: outcome.audit.netAssets.toString(),
          }),
        );
        outcomes.push({ txid: submission.key, status: 'accepted', session: open.session, index });
      } else {
        events.push(newEvent('ItemRejected', { session: open.session, peer: self, itemHash, ...(submission.txid === undefined ? {} : { txid: submission.txid }), reason: outcome.reason }));
        outcomes.push({ txid: submission.key, status: 'rejected', session: open.session, reason: outcome.reason });
      }
    }
    preVerified = [];
    let result;
    try {
      result = await log.append(streams.session(open.session), events, { expectedRevision: open.revision });
    } catch (error) {
      // Nothing of the batch is recorded and the write model did not move; but an unknown disk state
      // or a second writer on this log is not something to paper over.
      throw new ConsensusFailure(`could not record session ${open.session} items: ${error instanceof Error ? error.message : String(error)}`);
    }
    open.revision = result.nextExpectedRevision;
    open.position = result.position;
    state = next;
    // The leaves live on only in the accumulator (open.leafHashes is what a restart recovered).
    for (const leaf of leaves) merkle.add(leaf);
    queue.settled(batch);
    const committed = performance.now();
    for (const submission of batch) metrics?.orderingLatency.observe((committed - submission.submittedAt) / 1000);
    for (const outcome of outcomes) {
      if (outcome.status === 'accepted') processedCount?.inc();
      else rejectedCount?.inc();
      remember(outcome);
    }
    metrics?.commitBatchSize.observe(events.length);
    metrics?.queueDepth.set(queue.size);
  };

  const completeSession = async () => {
    const session = open.session;
    const sessionHeader = merkle.header(session);
    const events: EventToAppend[] = [];
    let signature = open.signature;
    if (signature === undefined || !keychain.verify(self, sessionHeader, signature)) {
      signature = keychain.sign(sessionHeader);
      events.push(newEvent('SignatureRecorded', { session, peer: self, signature: hexOf(signature), valid: true }));
    }
    const headerHex = hexOf(sessionHeader);
    events.push(
      newEvent('SessionCompleted', { session, header: headerHex, itemCount: merkle.count, signatures: { [String(self)]: hexOf(signature) }, source: 'local' }),
    );
    let result;
    try {
      result = await log.append(streams.session(session), events, { expectedRevision: open.revision });
    } catch (error) {
      throw new ConsensusFailure(`could not complete session ${session}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const completedAt = now();
    const summary: SessionSummary = { session, header: headerHex, itemCount: merkle.count, durationMs: completedAt - (deadline - options.sessionSeconds * 1000) };
    if (metrics !== undefined) {
      metrics.sessionCount.set(session + 1);
      if (merkle.count > 0) metrics.peerContributionSession.set({ self_id: String(self), peer_id: String(self) }, session);
      for (const [id, module] of options.rules.modules) {
        const started = performance.now();
        module.audit(state.modules.get(id));
        metrics.moduleAuditDuration.observe({ module_id: String(id), module_kind: module.name }, (performance.now() - started) / 1000);
      }
    }
    open.session = session + 1;
    open.revision = 'noStream';
    open.leafHashes = [];
    merkle = createMerkleAccumulator();
    open.txids = new Set();
    delete open.signature;
    open.position = result.position;
    open.openedAt = new Date(completedAt);
    deadline = completedAt + options.sessionSeconds * 1000;
    const checkpoint = options.checkpoint;
    if (checkpoint !== undefined && result.position - lastCheckpointAt >= checkpointMinEvents) {
      lastCheckpointAt = result.position;
      // Checkpoints never hold up the next session; they are chained so that they stay in order.
      checkpoints = checkpoints
        .then(() => checkpoint(session, result.position))
        .catch((error: unknown) => options.logger?.warn({ session, err: error }, 'checkpoint failed'));
    }
    sessionCompleted$.next(summary);
    if (shutdownAfter !== undefined && session >= shutdownAfter) {
      options.logger?.info({ session }, 'scheduled shutdown: the session is complete');
      stopping = true;
      stopController.abort();
    }
  };

  const waitUntilWork = async () => {
    const wait = new AbortController();
    // setTimeout overflows past 2^31-1 ms (firing at once, every turn); the loop re-checks the deadline anyway.
    const timer = setTimeout(() => wait.abort(), Math.min(MAX_TIMER_MS, Math.max(0, deadline - now())));
    const onStop = () => wait.abort();
    stopController.signal.addEventListener('abort', onStop, { once: true });
    try {
      await queue.whenNonEmpty(wait.signal);
    } finally {
      clearTimeout(timer);
      stopController.signal.removeEventListener('abort', onStop);
    }
  };

  const run = async () => {
    while (!stopController.signal.aborted) {
      if (now() >= deadline) {
        await completeSession();
        continue;
      }
      if (queue.size === 0) {
        await waitUntilWork();
        continue;
      }
      await processBatch();
    }
  };

  const done = run().then(
    async () => {
      await checkpoints;
      sessionCompleted$.complete();
    },
    async (error: unknown) => {
      stopping = true;
      // A halted loop records nothing more: release every long-poll now, not at its timeout.
      stopController.abort();
      options.logger?.error({ err: error }, 'Consensus failure: the session loop halted');
      await checkpoints;
      sessionCompleted$.error(error);
      throw error;
    },
  );
  // The owner observes `done`; this keeps an unobserved rejection from crashing the process twice.
  done.catch(() => undefined);

  return {
    async submitTransaction(txHex) {
      const bytes = bytesOfHex(txHex);
      if (bytes === undefined) return { kind: 'invalid', reason: 'tx must be non-empty hex of whole bytes' };
      if (bytes.length > MAX_TRANSACTION_BYTES + 16) return { kind: 'invalid', reason: `transaction is more than ${MAX_TRANSACTION_BYTES} bytes` };
      const decoded = decodeTransaction(bytes);
      if (!decoded.ok) return { kind: 'invalid', reason: `malformed transaction: ${decoded.error.kind}${decoded.error.message ? ` (${decoded.error.message})` : ''}` };
      const tx = decoded.value;
      const txid = hexOf(txidOfEncoded(bytes, tx.signatures.length, nativeSha256));
      if (state.acceptedTxids.has(txid)) return { kind: 'alreadyAccepted', txid };
      const item: ConsensusItem = { kind: 'transaction', tx };
      // The ledger hashes these bytes for the txid instead of re-encoding the transaction, twice (dry run and loop).
      const encoded = transactionItemBytes(bytes);
      return enqueue(item, encoded, txid, txid, encoded.subarray(encoded.length - bytes.length));
    },
    async observeDeposit(d) {
      if (!/^[0-9a-f]{64}$/.test(d.depositId) || !/^[0-9a-f]{64}$/.test(d.recipient)) return { kind: 'invalid', reason: 'depositId and recipient must be 32 bytes of lowercase hex' };
      if (d.amount <= 0n || d.amount > 0xffff_ffff_ffff_ffffn) return { kind: 'invalid', reason: 'amount must be a positive u64 (msat)' };
      const item = depositObserved({ depositId: hexToBytes(d.depositId), amount: d.amount, recipient: hexToBytes(d.recipient) });
      const encoded = encodeConsensusItem(item);
      const key = hexOf(nativeAcceptedItemHash(encoded, self));
      // A deposit feeder retries after a timeout: the identical deposit, already confirmed, is an
      // idempotent success; a different amount or recipient under the same id stays a rejection.
      const confirmed = (state.modules.get(WALLET_INSTANCE) as WalletState | undefined)?.deposits.get(d.depositId);
      if (confirmed !== undefined && confirmed.amount === d.amount && hexOf(confirmed.recipient) === d.recipient) return { kind: 'alreadyAccepted', txid: key };
      return enqueue(item, encoded, key, undefined);
    },
    knownStatus(txid) {
      const known = recent.get(txid);
      if (known !== undefined) return known;
      if (queue.isPending(txid)) return { txid, status: 'pending' };
      return undefined;
    },
    waitForOutcome(txid, waitMs, signal) {
      const known = recent.get(txid);
      if (known !== undefined) return Promise.resolve(known);
      if (waitMs <= 0 || signal?.aborted) return Promise.resolve(undefined);
      return new Promise<TxStatus | undefined>((resolve) => {
        if (stopController.signal.aborted) return resolve(undefined);
        let set = waiters.get(txid);
        if (set === undefined) waiters.set(txid, (set = new Set()));
        // The stop wakes every waiter through `waiters` (one listener for all, see above).
        const finish = (status: TxStatus | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const current = waiters.get(txid);
          current?.delete(finish);
          if (current?.size === 0) waiters.delete(txid);
          resolve(status);
        };
        const onAbort = () => finish(undefined);
        const timer = setTimeout(onAbort, waitMs);
        set.add(finish);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    waitForOutcomes(txids, waitMs, signal) {
      const outcomes = txids.map((txid) => recent.get(txid));
      let missing = 0;
      for (const outcome of outcomes) if (outcome === undefined) missing++;
      if (missing === 0 || waitMs <= 0 || signal?.aborted || stopController.signal.aborted) return Promise.resolve(outcomes);
      return new Promise<(TxStatus | undefined)[]>((resolve) => {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', finish);
          // The woken txids' sets are gone already (remember deletes them); release the others.
          for (let i = 0; i < txids.length; i++) {
            if (outcomes[i] !== undefined) continue;
            const set = waiters.get(txids[i]!);
            set?.delete(wake);
            if (set?.size === 0) waiters.delete(txids[i]!);
          }
          resolve(outcomes);
        };
        // Where each awaited txid stands in `txids` (a batch may name one twice).
        const positions = new Map<string, number[]>();
        // Woken with each recorded outcome, or with undefined by the stop.
        const wake = (status: TxStatus | undefined) => {
          if (status === undefined) return finish();
          for (const i of positions.get(status.txid) ?? []) {
            outcomes[i] = status;
            missing--;
          }
          if (missing === 0) finish();
        };
        const timer = setTimeout(finish, waitMs);
        for (let i = 0; i < txids.length; i++) {
          if (outcomes[i] !== undefined) continue;
          const txid = txids[i]!;
          const at = positions.get(txid);
          if (at !== undefined) {
            at.push(i);
            continue;
          }
          positions.set(txid, [i]);
          let set = waiters.get(txid);
          if (set === undefined) waiters.set(txid, (set = new Set()));
          set.add(wake);
        }
        signal?.addEventListener('abort', finish, { once: true });
      });
    },
    currentSession: () => open.session,
    scheduleShutdown(afterSession) {
      shutdownAfter = Math.max(afterSession, open.session);
      options.logger?.info({ afterSession: shutdownAfter }, 'shutdown scheduled');
    },
    sessionCompleted$: sessionCompleted$.asObservable(),
    done,
    async stop() {
      stopping = true;
      stopController.abort();
      await done.catch(() => undefined);
    },
  };
}
