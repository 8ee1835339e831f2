import { Observable, Subject } from 'rxjs';
import type { GuardianHandle, SubmitOutcome, TxStatus } from '../../src/consensus/guardian.ts';
import { consensusConfig, parseGuardianConfig } from '../../src/consensus/config.ts';
import { createMetrics } from '../../src/consensus/metrics.ts';
import { encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import { bytesToHex, header, hexToBytes } from '../../src/domain/hashing.ts';
import { createKeychain } from '../../src/domain/keychain.ts';
import { initialLedgerState, ledgerRules, processItem } from '../../src/domain/ledger.ts';
import { depositObserved } from '../../src/domain/modules/wallet.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { decodeTransaction, txid as txidOf } from '../../src/domain/transaction.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { streams, newEvent } from '../../src/streams/events.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createModules, defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

/**
 * A test double of the engine for the API's unit tests (issue4.md allows it): a real
 * schema-checked memory log, the real projection host and the guardian's real metrics registry,
 * with a minimal submitter in place of the session loop: submissions are dry-run against the domain
 * ledger and queued; `seal()` appends them as ItemAccepted
 * events and completes the session with a real BIP-340 signature over its real header.
 *
 * Observability hooks (`aborted`, `sessionCompletedObservers`) let tests prove that long-polls are
 * released when the client goes away.
 */

export const SECRET_KEY = hexToBytes('0000000000000000000000000000000000000000000000000000000000000003');
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestGuardian extends GuardianHandle {
  /** Appends the queued items to the open session and completes it. Returns the session index. */
  seal(): Promise<number>;
  /** Signals passed to transactionStatus that were aborted (a client hung up). */
  readonly aborted: AbortSignal[];
  /** transactionStatus calls waiting now. */
  waitingTransactions(): number;
  /** How many subscribers sessionCompleted$ has now. */
  sessionCompletedObservers(): number;
  /** Session passed to scheduleShutdown, if any. */
  readonly shutdownAfter: number | undefined;
  /** Make the next submissions answer queueFull. */
  queueFull: boolean;
}

interface Queued {
  item: ConsensusItem;
  encoded: Uint8Array;
  txid?: string;
  netAssets: string;
}

export async function startTestGuardian(): Promise<TestGuardian> {
  const publicKey = bytesToHex(nobleBackend.publicKey(SECRET_KEY));
  const config = parseGuardianConfig({
    version: 1,
    peer: 0,
    secretKey: bytesToHex(SECRET_KEY),
    federation: { peers: [{ id: 0, pubkey: publicKey, apiUrl: 'http://127.0.0.1:8174' }], sessionSeconds: 1 },
    dataDir: '/nonexistent',
    api: { port: 8174 },
    p2p: { port: 8173 },
    adminToken: ADMIN_TOKEN,
  });
  const federation = consensusConfig(config);
  const keychain = createKeychain({ federation: new Map([[0, hexToBytes(publicKey)]]), secretKey: SECRET_KEY });
  let tick = 0;
  // A deterministic clock: recordedAt moves one second per event.
  const log = withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
  await log.append(streams.federation, [newEvent('FederationConfigured', federation)]);
  const projections = await startProjections(log, { retention: 2 });
  const metrics = createMetrics({ processDefaults: true });
  const completions$ = new Subject<{ session: number; header: string; itemCount: number }>();
  let observers = 0;
  // Counts its subscribers, so tests can see a long-poll let go when its client hangs up.
  const sessionCompleted$ = new Observable<{ session: number; header: string; itemCount: number }>((subscriber) => {
    observers += 1;
    const subscription = completions$.subscribe(subscriber);
    return () => {
      observers -= 1;
      subscription.unsubscribe();
    };
  });

  let session = 0;
  const rules = ledgerRules({ peerCount: 1, modules: createModules() });
  /** The ledger after every queued item: submissions are dry-run against it, as the engine does. */
  let ledger = initialLedgerState(rules);
  let queue: Queued[] = [];
  const accepted = new Map<string, { session: number; index: number }>();
  const acceptedWaiters = new Set<() => void>();
  const aborted: AbortSignal[] = [];
  let shutdownAfter: number | undefined;
  let waiting = 0;

  const guardian: TestGuardian = {
    peer: 0,
    log,
    projections,
    metrics: metrics.registry,
    queueFull: false,
    aborted,
    get shutdownAfter() {
      return shutdownAfter;
    },
    federation: () => ({ peers: federation.peers.map(({ id, pubkey, apiUrl }) => ({ id, pubkey, apiUrl })), threshold: federation.threshold, consensusHash: federation.consensusHash }),

    async submitTransaction(txHex): Promise<SubmitOutcome> {
      const decoded = decodeTransaction(hexToBytes(txHex), defaultModuleCodecs);
      if (!decoded.ok) return { kind: 'invalid', reason: `undecodable transaction: ${decoded.error.message}` };
      const txid = bytesToHex(txidOf(decoded.value));
      if (accepted.has(txid)) return { kind: 'alreadyAccepted', txid };
      if (guardian.queueFull) return { kind: 'queueFull', retryAfterSeconds: 2 };
      const item: ConsensusItem = { kind: 'transaction', tx: decoded.value };
      const rejection = enqueue(item, txid);
      return rejection === undefined ? { kind: 'queued', txid } : { kind: 'invalid', reason: rejection, txid };
    },

    async observeDeposit({ depositId, amount, recipient }): Promise<SubmitOutcome> {
      if (guardian.queueFull) return { kind: 'queueFull', retryAfterSeconds: 2 };
      const item = depositObserved({ depositId: hexToBytes(depositId), amount, recipient: hexToBytes(recipient) });
      const rejection = enqueue(item);
      return rejection === undefined ? { kind: 'queued', txid: depositId } : { kind: 'invalid', reason: rejection };
    },

    async transactionStatus(txid, waitMs, signal): Promise<TxStatus> {
      const answer = (): TxStatus | undefined => {
        const at = accepted.get(txid);
        return at === undefined ? undefined : { txid, status: 'accepted', session: at.session, index: at.index };
      };
      const now = answer();
      if (now !== undefined) return now;
      const pending = queue.some((q) => q.txid === txid);
      if (!pending) return { txid, status: 'unknown' };
      waiting += 1;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          acceptedWaiters.delete(done);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          if (signal !== undefined) aborted.push(signal);
          done();
        };
        const timer = setTimeout(done, waitMs);
        acceptedWaiters.add(done);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      waiting -= 1;
      return answer() ?? { txid, status: 'pending' };
    },

    transactionStatuses(txids, waitMs, signal): Promise<TxStatus[]> {
      return Promise.all(txids.map((txid) => guardian.transactionStatus(txid, waitMs, signal)));
    },

    currentSession: () => session,
    links: () => [] as ReturnType<GuardianHandle['links']>,
    scheduleShutdown(afterSession) {
      shutdownAfter = afterSession;
    },
    sessionCompleted$,
    sessionCompletedObservers: () => observers,
    waitingTransactions: () => waiting,

    async seal() {
      const items = queue;
      queue = [];
      const leaves: Uint8Array[] = [];
      const events = items.map((q, index) => {
        const leaf = acceptedItemHashOfEncoded(q.encoded, 0);
        leaves.push(leaf);
        return newEvent('ItemAccepted', {
          session,
          index,
          peer: 0,
          item: bytesToHex(q.encoded),
          itemHash: bytesToHex(leaf),
          ...(q.txid === undefined ? {} : { txid: q.txid }),
          netAssets: q.netAssets,
        });
      });
      const sessionHeader = header(session, leaves);
      const signature = bytesToHex(keychain.sign(sessionHeader));
      const result = await log.append(streams.session(session), [
        ...events,
        newEvent('SignatureRecorded', { session, peer: 0, signature, valid: true }),
        newEvent('SessionCompleted', { session, header: bytesToHex(sessionHeader), itemCount: items.length, signatures: { '0': signature }, source: 'local' }),
      ]);
      await projections.waitFor(result.position);
      items.forEach((q, index) => {
        if (q.txid !== undefined) accepted.set(q.txid, { session, index });
      });
      const completed = { session, header: bytesToHex(sessionHeader), itemCount: items.length };
      session += 1;
      for (const wake of [...acceptedWaiters]) wake();
      completions$.next(completed);
      return completed.session;
    },
  } as TestGuardian;

  /** Dry-runs `item` after everything queued; queues it if the ledger accepts it, else returns why not. */
  function enqueue(item: ConsensusItem, txid?: string): string | undefined {
    const outcome = processItem(rules, ledger, item, 0);
    if (!outcome.ok) return outcome.reason;
    ledger = outcome.state;
    queue.push({ item, encoded: encodeConsensusItem(item), ...(txid === undefined ? {} : { txid }), netAssets: outcome.audit.netAssets.toString() });
    return undefined;
  }

  guardian.stop = async () => {
    await projections.stop();
    await log.close();
  };
  return guardian;
}
