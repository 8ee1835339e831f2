/**
 * The consensus engine, read top to bottom like Fedimint's engine.rs: `run` opens session after
 * session (`runSession`); a session processes the items of ordered units (`processUnit` ->
 * `processItem`) until the first unit of round >= roundsPerSession, then signs header(i) and
 * collects signatures from ordered units until `threshold` (`completeSession`); a valid signed
 * outcome offered by a peer completes it instead (`completeSignedOutcome`).
 *
 * The append is the commit point: a unit's items are appended to `session-<i>` in one append, and
 * the write model advances and waiters learn the outcome only once it resolved. On restart the
 * first session without SessionCompleted is continued from what it recorded (openSession.ts).
 */
import { Subject } from 'rxjs';
import { encodeConsensusItem, encodedTransactionOf, type ConsensusItem } from '../../domain/consensusItem.ts';
import type { PeerId } from '../../domain/federation.ts';
import { equalBytes } from '../../domain/hashing.ts';
import { processItem as applyToLedger, type LedgerRules, type LedgerState } from '../../domain/ledger.ts';
import { verifySignedSessionOutcome, type SignedSessionOutcome } from '../../domain/sessionOutcome.ts';
import type { SignatureCheck } from '../../domain/signatureBackend.ts';
import { createMerkleAccumulator } from '../../domain/merkleAccumulator.ts';
import { nativeAcceptedItemHash, nativeHashPair } from '../../projections/nativeSha256.ts';
import type { EventToAppend, Position } from '../../streams/eventLog.ts';
import { isEvent, newEvent, streams } from '../../streams/events.ts';
import { hexOf } from './nodeHex.ts';
import { findOpenSession, type OpenSession } from './openSession.ts';
import type { OrderedUnit, SessionOrdering } from './ordering.ts';
import { createOutcomeWaiters, type TxStatus } from './outcomeWaiters.ts';
import { createSignatureCollection, type SignatureCollection } from './signatureCollection.ts';
import { singleGuardianOrdering } from './singleGuardianOrdering.ts';
import { createSubmissions, type SubmitOutcome } from './submissions.ts';
import type { Submission } from './submissionQueue.ts';

import { ConsensusFailure, type Engine, type EngineOptions, type SessionSummary } from './engineApi.ts';

export type { SubmitOutcome, TxStatus };
export { ConsensusFailure, type Engine, type EngineLogger, type EngineOptions, type SessionSummary } from './engineApi.ts';

/** Items processed from ordered units and not yet appended: the events, the ledger they lead to, and whom to tell. */
interface Uncommitted {
  events: EventToAppend[];
  outcomes: TxStatus[];
  leaves: Uint8Array[];
  own: Submission[];
  state: LedgerState;
  /** performance.now() when this commit was opened (right after the previous one). */
  since: number;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const { log, keychain, metrics } = options;
  const self = keychain.peer;
  const now = options.now ?? Date.now;
  const roundsPerSession = options.roundsPerSession ?? 3600;
  const maxBatchMs = options.maxBatchMs ?? 8;
  const maxCommitEvents = options.maxBatch ?? 1024;
  const commitWindowMs = options.commitWindowMs ?? 25;
  const checkpointMinEvents = BigInt(options.checkpointPolicy?.minEvents ?? 0);
  let lastCheckpointAt = options.checkpointPolicy?.lastPosition ?? 0n;
  const peerLabel = { peer_id: String(self) };
  // Label-bound children: the per-item observations skip hashing the label set every time.
  const itemDuration = metrics?.itemProcessingDuration.labels(peerLabel);
  const processedCount = metrics?.itemsProcessed.labels(peerLabel);
  const rejectedCount = metrics?.itemsRejected.labels(peerLabel);

  const [configured] = await log.readStream(streams.federation, { maxCount: 1 });
  if (configured === undefined) throw new ConsensusFailure('the log has no FederationConfigured event: start the guardian through startGuardian');
  const open: OpenSession = await findOpenSession(log, configured);
  let merkle = createMerkleAccumulator(nativeHashPair, open.leafHashes);
  let state = await options.seedLedger(open.position);
  metrics?.sessionCount.set(open.session);

  const submissions = createSubmissions({ self, rules: options.rules, checker: options.checker, capacity: options.queueCapacity, state: () => state, ...(metrics === undefined ? {} : { metrics }) });
  const ordering =
    options.ordering?.(submissions.queue) ??
    singleGuardianOrdering({ self, queue: submissions.queue, sessionSeconds: options.sessionSeconds, roundsPerSession, maxBatch: options.maxBatch ?? 1024, now });
  const waiters = createOutcomeWaiters();
  const sessionCompleted$ = new Subject<SessionSummary>();
  const stopController = new AbortController();
  stopController.signal.addEventListener('abort', () => waiters.releaseAll(), { once: true });
  let shutdownAfter: number | undefined;
  let checkpoints: Promise<void> = Promise.resolve();

  // Own items' signatures were verified at admission; a check is re-run only if it is not the very
  // check (signature, txid, key) verified then. Items of other guardians are verified here.
  let preVerified: readonly SignatureCheck[] = [];
  const rules: LedgerRules = {
    ...options.rules,
    verify: (signature, message, publicKey) =>
      preVerified.some((c) => equalBytes(c.signature, signature) && equalBytes(c.message, message) && equalBytes(c.publicKey, publicKey)) ||
      keychain.backend.verify(signature, message, publicKey),
  };

  // ---- run ---------------------------------------------------------------------------------

  const run = async () => {
    while (!stopController.signal.aborted) {
      const completed = await runSession(open.session);
      if (!completed) return;
      if (shutdownAfter !== undefined && open.session > shutdownAfter) {
        options.logger?.info({ session: open.session - 1 }, 'scheduled shutdown: the session is complete');
        stopController.abort();
      }
    }
  };

  /** Runs `session` until it completes (true) or the engine stops (false). */
  const runSession = async (session: number): Promise<boolean> => {
    const sessionOrdering = ordering.openSession(session, open.openedAt.getTime());
    let completed = false;
    try {
      // An ordering that replays the session delivers its recorded items again: they are skipped.
      let replayCursor = sessionOrdering.replaysRecordedItems ? 0 : open.recorded.length;
      let signatures: SignatureCollection | undefined;
      let lastRound = 0;
      // Units ordered back to back are committed together: one append (one fsync) for all of them.
      let pending = uncommitted();
      const commitPending = async () => {
        await commitUnits(session, pending);
        pending = uncommitted();
      };
      for (;;) {
        const event = await sessionOrdering.next(stopController.signal);
        if (event === undefined) {
          await commitPending();
          return false;
        }
        if (event.kind === 'signedOutcome') {
          await commitPending();
          completed = await completeSignedOutcome(session, event.outcome);
          if (completed) return true;
          continue;
        }
        const { unit } = event;
        lastRound = Math.max(lastRound, unit.round);
        if (signatures === undefined) {
          if (unit.round < roundsPerSession) {
            if (unit.data.kind === 'batch') replayCursor = await processUnit(session, unit, unit.data.items, replayCursor, pending);
            const due = pending.events.length >= maxCommitEvents || performance.now() - pending.since >= commitWindowMs;
            if ((sessionOrdering.ready?.() ?? 0) === 0 || due) await commitPending();
            continue;
          }
          await commitPending();
          signatures = signHeader(session, sessionOrdering);
        }
        if (unit.data.kind === 'signature') signatures.offer(unit.creator, unit.data.signature);
        if (signatures.complete) {
          await completeSession(session, signatures);
          metrics?.sessionRounds.observe(lastRound);
          completed = true;
          return true;
        }
      }
    } finally {
      await sessionOrdering.close(completed);
    }
  };

  // ---- items -------------------------------------------------------------------------------

  /**
   * Processes one ordered unit's items into `pending`, whose append is the commit point. Items the
   * session recorded before a restart come first when the ordering replays: each must be the
   * identical item, else the log and the ordering disagree and the guardian halts.
   */
  const processUnit = async (session: number, unit: OrderedUnit, items: readonly ConsensusItem[], replayCursor: number, pending: Uncommitted): Promise<number> => {
    const { creator } = unit;
    const { events, outcomes, leaves, own } = pending;
    const unitStarts = events.length;
    let sliceEnds = performance.now() + maxBatchMs;
    for (const item of items) {
      if (performance.now() >= sliceEnds) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceEnds = performance.now() + maxBatchMs;
      }
      const admitted = creator === self ? submissions.submission(item) : undefined;
      if (admitted !== undefined) own.push(admitted);
      const encoded = admitted?.encoded ?? encodeConsensusItem(item);
      const itemHash = admitted?.itemHash ?? nativeAcceptedItemHash(encoded, creator);
      const itemHashHex = hexOf(itemHash);
      if (replayCursor < open.recorded.length) {
        if (open.recorded[replayCursor] !== itemHashHex) {
          throw new ConsensusFailure(`Consensus failure: session ${session} item ${replayCursor} was discarded previously (the ordering replayed ${itemHashHex}, the log recorded ${open.recorded[replayCursor]})`);
        }
        replayCursor++;
        continue;
      }
      const processed = processItem(pending.state, item, creator, admitted?.verified ?? [], admitted?.encodedTransaction ?? encodedTransactionOf(encoded));
      const txid = admitted?.txid ?? (processed.txid === undefined || item.kind !== 'transaction' ? undefined : hexOf(processed.txid));
      const key = admitted?.key ?? txid ?? itemHashHex;
      if (processed.ok) {
        pending.state = processed.state;
        const index = merkle.count + leaves.length;
        leaves.push(itemHash);
        events.push(newEvent('ItemAccepted', { session, index, peer: creator, item: hexOf(encoded), itemHash: itemHashHex, ...(txid === undefined ? {} : { txid }), netAssets: processed.audit.netAssets.toString() }));
        outcomes.push({ txid: key, status: 'accepted', session, index });
      } else {
        events.push(newEvent('ItemRejected', { session, peer: creator, itemHash: itemHashHex, ...(txid === undefined ? {} : { txid }), reason: processed.reason }));
        outcomes.push({ txid: key, status: 'rejected', session, reason: processed.reason });
      }
    }
    // A unit whose items were all recorded before a restart was recorded as ordered then, too.
    if (events.length > unitStarts && unit.recorded !== undefined) {
      events.splice(unitStarts, 0, newEvent('UnitOrdered', { session, creator, round: unit.round, hash: unit.recorded.hash, data: hexOf(unit.recorded.data) }));
    }
    return replayCursor;
  };

  const uncommitted = (): Uncommitted => ({ events: [], outcomes: [], leaves: [], own: [], state, since: performance.now() });

  /** Appends what `pending` holds in one append; only then do the write model and the waiters move. */
  const commitUnits = async (session: number, pending: Uncommitted) => {
    if (pending.events.length > 0) await commit(session, pending.events, pending.state, pending.leaves, pending.outcomes);
    submissions.queue.settled(pending.own);
    const committed = performance.now();
    for (const submission of pending.own) metrics?.orderingLatency.observe((committed - submission.submittedAt) / 1000);
    metrics?.queueDepth.set(submissions.queue.size);
  };

  /** The ledger step of one item; an exception inside the domain (an audit failure) halts the guardian. */
  const processItem = (from: LedgerState, item: ConsensusItem, peer: PeerId, verified: readonly SignatureCheck[], encodedTransaction: Uint8Array | undefined) => {
    preVerified = verified;
    const started = performance.now();
    try {
      return applyToLedger(rules, from, item, peer, encodedTransaction);
    } catch (error) {
      throw new ConsensusFailure(messageOf(error));
    } finally {
      preVerified = [];
      itemDuration?.observe((performance.now() - started) / 1000);
    }
  };

  const commit = async (session: number, events: EventToAppend[], next: LedgerState, leaves: readonly Uint8Array[], outcomes: readonly TxStatus[]) => {
    let result;
    try {
      result = await log.append(streams.session(session), events, { expectedRevision: open.revision });
    } catch (error) {
      // Nothing is recorded and the write model did not move; but an unknown disk state or a
      // second writer on this log is not something to paper over.
      throw new ConsensusFailure(`could not record session ${session} items: ${messageOf(error)}`);
    }
    open.revision = result.nextExpectedRevision;
    open.position = result.position;
    state = next;
    // The leaves live on only in the accumulator (open.leafHashes is what a restart recovered).
    for (const leaf of leaves) merkle.add(leaf);
    for (const outcome of outcomes) {
      if (outcome.status === 'accepted') processedCount?.inc();
      else rejectedCount?.inc();
      waiters.record(outcome);
    }
    metrics?.commitBatchSize.observe(events.length);
    return result;
  };

  // ---- completion --------------------------------------------------------------------------

  /** The rounds are over: sign header(i), propose the signature, and collect from here on. */
  const signHeader = (session: number, sessionOrdering: SessionOrdering): SignatureCollection => {
    const header = merkle.header(session);
    const signatures = createSignatureCollection({ header, threshold: keychain.threshold, verify: keychain.verify, recorded: open.signatures });
    sessionOrdering.proposeSignature(open.signatures.get(self) ?? keychain.sign(header));
    return signatures;
  };

  const completeSession = async (session: number, signatures: SignatureCollection) => {
    const header = merkle.header(session);
    const events: EventToAppend[] = [];
    const record = (peer: PeerId, signature: Uint8Array, valid: boolean) => events.push(newEvent('SignatureRecorded', { session, peer, signature: hexOf(signature), valid }));
    for (const [peer, signature] of [...signatures.valid].sort(([a], [b]) => a - b)) if (!open.signatures.has(peer)) record(peer, signature, true);
    for (const [peer, signature] of signatures.invalid) record(peer, signature, false);
    await seal(session, header, signatures.valid, events, 'local');
  };

  /**
   * A peer's signed outcome for the session we are in: valid only with `threshold` signatures over
   * its header. Our accepted items must be its prefix; the rest is processed and must be accepted,
   * since the federation already did.
   */
  const completeSignedOutcome = async (session: number, signed: SignedSessionOutcome): Promise<boolean> => {
    if (!verifySignedSessionOutcome(keychain.federation, session, signed, keychain.backend)) {
      options.logger?.warn({ session }, 'a peer offered a signed outcome without a threshold of valid signatures: ignored');
      return false;
    }
    const items = signed.outcome.items;
    // Rare (a guardian that fell behind): our accepted items are read back from the log, not kept.
    const ours = (await log.readStream(streams.session(session))).flatMap((event) => (isEvent(event, 'ItemAccepted') ? [event.data.itemHash] : []));
    if (items.length < ours.length) throw new ConsensusFailure(`Consensus failure: session ${session} has ${ours.length} accepted items, the signed outcome only ${items.length}`);
    const events: EventToAppend[] = [];
    let next = state;
    const leaves: Uint8Array[] = [];
    for (let index = 0; index < items.length; index++) {
      const { item, peer } = items[index]!;
      const encoded = encodeConsensusItem(item);
      const itemHash = nativeAcceptedItemHash(encoded, peer);
      if (index < ours.length) {
        if (hexOf(itemHash) !== ours[index]) throw new ConsensusFailure(`Consensus failure: session ${session} item ${index} differs from the signed outcome's`);
        continue;
      }
      const processed = processItem(next, item, peer, [], encodedTransactionOf(encoded));
      if (!processed.ok) throw new ConsensusFailure(`Consensus failure: session ${session} item ${index} of the signed outcome is rejected here: ${processed.reason}`);
      next = processed.state;
      leaves.push(itemHash);
      const txid = processed.txid === undefined || item.kind !== 'transaction' ? undefined : hexOf(processed.txid);
      events.push(newEvent('ItemAccepted', { session, index, peer, item: hexOf(encoded), itemHash: hexOf(itemHash), ...(txid === undefined ? {} : { txid }), netAssets: processed.audit.netAssets.toString() }));
    }
    state = next;
    for (const leaf of leaves) merkle.add(leaf);
    const header = merkle.header(session);
    const valid = new Map([...signed.signatures].filter(([peer, signature]) => keychain.verify(peer, header, signature)));
    for (const [peer, signature] of [...valid].sort(([a], [b]) => a - b)) events.push(newEvent('SignatureRecorded', { session, peer, signature: hexOf(signature), valid: true }));
    await seal(session, header, valid, events, 'peer');
    return true;
  };

  /** Appends the session's last events and SessionCompleted in one append, then opens the next session. */
  const seal = async (session: number, header: Uint8Array, signatures: ReadonlyMap<PeerId, Uint8Array>, events: EventToAppend[], source: 'local' | 'peer') => {
    const headerHex = hexOf(header);
    const signed: Record<string, string> = {};
    for (const [peer, signature] of [...signatures].sort(([a], [b]) => a - b)) signed[String(peer)] = hexOf(signature);
    events.push(newEvent('SessionCompleted', { session, header: headerHex, itemCount: merkle.count, signatures: signed, source }));
    let result;
    try {
      result = await log.append(streams.session(session), events, { expectedRevision: open.revision });
    } catch (error) {
      throw new ConsensusFailure(`could not complete session ${session}: ${messageOf(error)}`);
    }
    const completedAt = now();
    const summary: SessionSummary = { session, header: headerHex, itemCount: merkle.count, durationMs: completedAt - open.openedAt.getTime() };
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
    open.recorded = [];
    open.signatures = new Map();
    open.position = result.position;
    open.openedAt = new Date(completedAt);
    merkle = createMerkleAccumulator(nativeHashPair);
    scheduleCheckpoint(session, result.position);
    sessionCompleted$.next(summary);
  };

  const scheduleCheckpoint = (session: number, position: Position) => {
    const checkpoint = options.checkpoint;
    if (checkpoint === undefined || position - lastCheckpointAt < checkpointMinEvents) return;
    lastCheckpointAt = position;
    // Checkpoints never hold up the next session; they are chained so that they stay in order.
    checkpoints = checkpoints.then(() => checkpoint(session, position)).catch((error: unknown) => options.logger?.warn({ session, err: error }, 'checkpoint failed'));
  };

  const done = run().then(
    async () => {
      submissions.stop();
      await checkpoints;
      sessionCompleted$.complete();
    },
    async (error: unknown) => {
      submissions.stop();
      // A halted engine records nothing more: release every long-poll now, not at its timeout.
      stopController.abort();
      options.logger?.error({ err: error }, 'Consensus failure: the engine halted');
      await checkpoints;
      sessionCompleted$.error(error);
      throw error;
    },
  );
  // The owner observes `done`; this keeps an unobserved rejection from crashing the process twice.
  done.catch(() => undefined);

  return {
    submitTransaction: (txHex) => submissions.submitTransaction(txHex),
    observeDeposit: (d) => submissions.observeDeposit(d),
    knownStatus(txid) {
      const known = waiters.recent(txid);
      if (known !== undefined) return known;
      if (submissions.queue.isPending(txid)) return { txid, status: 'pending' };
      return undefined;
    },
    waitForOutcome: (txid, waitMs, signal) => waiters.waitForOutcome(txid, waitMs, signal),
    waitForOutcomes: (txids, waitMs, signal) => waiters.waitForOutcomes(txids, waitMs, signal),
    currentSession: () => open.session,
    scheduleShutdown(afterSession) {
      shutdownAfter = Math.max(afterSession, open.session);
      options.logger?.info({ afterSession: shutdownAfter }, 'shutdown scheduled');
    },
    sessionCompleted$: sessionCompleted$.asObservable(),
    done,
    async stop() {
      submissions.stop();
      stopController.abort();
      await done.catch(() => undefined);
    },
  };
}
