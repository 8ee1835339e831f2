/**
 * One guardian, composed: its log (embedded SQLite by default), the federation's configuration
 * recorded once in that log, the projections, the session loop and the metrics. The API and the CLI
 * talk to a guardian only through the GuardianHandle returned here.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Observable } from 'rxjs';
import { map } from 'rxjs';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { hexToBytes } from '../domain/hashing.ts';
import { createKeychain } from '../domain/keychain.ts';
import { ledgerRules } from '../domain/ledger.ts';
import { createModules, modulesConfigFromJson } from '../domain/modules/consensusModules.ts';
import { createBatchVerifier } from '../runtime/signatures/batchVerifier.ts';
import { fastestBackend } from '../runtime/signatures/fastest.ts';
import { ledgerProjection, ledgerSeed } from '../projections/ledger.ts';
import { nativeSha256 } from '../projections/nativeSha256.ts';
import { startProjections, type ProjectionHost } from '../projections/projectionHost.ts';
import type { ConsensusFields } from '../streams/federationConfiguredCheck.ts';
import { registerProjectionMetrics } from '../projections/projectionMetrics.ts';
import { lookupTransaction, transactionsProjection } from '../projections/transactions.ts';
import { countAppends } from '../streams/appendCounter.ts';
import { START, type EventLog, type Position } from '../streams/eventLog.ts';
import { isEvent, newEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import { ConfigError, consensusConfig, federationKeys, sqliteLogPath, transportIdentity, type GuardianConfig } from './config.ts';
import { startFederationMember, type FederationMember } from './federation/federationMember.ts';
import { checkStoredLog } from './startupChecks.ts';
import { startTransport, type Transport } from './transport/tlsTransport.ts';
import type { LinkState } from './transport/peerLink.ts';
import { codecRegistry } from '../domain/module.ts';
import { createMetrics, registerPeerLinkMetrics, type ConsensusMetrics } from './metrics.ts';
import { startEngine, type Engine, type SessionSummary, type SubmitOutcome, type TxStatus } from './engine/engine.ts';
import { batchingSignatureChecker, inlineSignatureChecker, type SignatureChecker } from './engine/signatureChecks.ts';

export type { SubmitOutcome, TxStatus, SessionSummary };

export interface GuardianHandle {
  readonly peer: number;
  /** Schema-checked. */
  readonly log: EventLog;
  readonly projections: ProjectionHost;
  readonly metrics: Registry;
  federation(): {
    peers: { id: number; pubkey: string; apiUrl: string }[];
    threshold: number;
    consensusHash: string;
    /** Module settings an auditor needs to re-run the ledger (the wallet's withdraw fee). */
    modules?: { wallet: { withdrawFeeMsat: string } };
    /** The recorded consensus configuration the hash covers, so an auditor can recompute it. */
    configuration?: ConsensusFields;
  };
  submitTransaction(txHex: string): Promise<SubmitOutcome>;
  observeDeposit(d: { depositId: string; amount: bigint; recipient: string }): Promise<SubmitOutcome>;
  transactionStatus(txid: string, waitMs: number, signal?: AbortSignal): Promise<TxStatus>;
  /** `transactionStatus` of many txids (lowercase hex) waited for together: one answer per txid, in order, once all are decided or after `waitMs`. */
  transactionStatuses(txids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<TxStatus[]>;
  currentSession(): number;
  scheduleShutdown(afterSession: number): void;
  sessionCompleted$: Observable<{ session: number; header: string; itemCount: number }>;
  /** The links to the other guardians (empty for n = 1). */
  links(): LinkState[];
  stop(): Promise<void>;
}

/** What startGuardian returns: the handle, plus what its owner (the CLI) needs to run it. */
export interface Guardian extends GuardianHandle {
  /** Every completed session with its wall-clock duration (for the CLI's per-session line). */
  readonly sessions$: Observable<SessionSummary>;
  /** Resolves once the guardian stopped (stop() or a scheduled shutdown) and closed its log; rejects on a consensus failure. */
  readonly done: Promise<void>;
  readonly logger: Logger;
}

export interface GuardianOptions {
  /** Where the log lives; default: the config's (embedded SQLite in the data directory). */
  log?: EventLogLocation;
  logger?: Logger;
  /**
   * Worker threads verifying submitted signatures; 0 verifies on the main thread. Default: the
   * available parallelism. Under load one worker became the queue every submission waited in (half
   * of a batch request's time on 2 cores); two kept up while the main thread ran the session loop.
   */
  signatureWorkers?: number;
  /** Most items per commit (one append, one fsync). */
  maxBatch?: number;
  /** Aborts the wait for the federation's consensus-hash agreement (n >= 4). */
  signal?: AbortSignal;
}

// A signed outcome of a busy session travels in one frame when a guardian catches up.
const P2P_MAX_FRAME_BYTES = 32 * 1024 * 1024;
const P2P_SEND_QUEUE_FRAMES = 4096;
const P2P_BACKOFF = { minMs: 100, maxMs: 5_000 };

export class FederationMismatchError extends ConfigError {
  constructor(recorded: FederationConfigured, configured: FederationConfigured) {
    const differs = (['peers', 'keys', 'threshold', 'sessionSeconds', 'roundDelayMs', 'roundsPerSession', 'modules'] as const).filter(
      (field) => JSON.stringify(recorded[field]) !== JSON.stringify(configured[field]),
    );
    super(
      `the log belongs to a federation with consensus hash ${recorded.consensusHash}, but the config gives ${configured.consensusHash}` +
        (differs.length > 0 ? ` (differs in: ${differs.join(', ')})` : '') +
        '; refusing to start: use the original config, or a new data directory for a new federation',
    );
  }
}

export function logLocation(config: GuardianConfig): EventLogLocation {
  if (config.log.kind === 'sqlite') return { kind: 'sqlite', path: sqliteLogPath(config) };
  const { url, streamPrefix } = config.log;
  return streamPrefix === undefined ? { kind: 'eventstoredb', url } : { kind: 'eventstoredb', url, streamPrefix };
}

/** Records FederationConfigured on first start; on later starts refuses a config whose consensus hash differs. */
async function ensureFederation(log: EventLog, configured: FederationConfigured): Promise<FederationConfigured> {
  const [recorded] = await log.readStream(streams.federation, { maxCount: 1 });
  if (recorded === undefined) {
    await log.append(streams.federation, [newEvent('FederationConfigured', configured)], { expectedRevision: 'noStream' });
    return configured;
  }
  if (!isEvent(recorded, 'FederationConfigured')) throw new ConfigError(`the federation stream starts with ${recorded.type}, not FederationConfigured`);
  if (recorded.data.consensusHash !== configured.consensusHash) throw new FederationMismatchError(recorded.data, configured);
  return recorded.data;
}

/** Where the newest checkpoint common to every projection was taken (START when some projection has none). */
function newestCheckpointPosition(projections: ProjectionHost): Position {
  let oldest: Position | undefined;
  for (const { newestCheckpoint } of projections.status()) {
    if (newestCheckpoint === undefined) return START;
    const at = BigInt(newestCheckpoint.position);
    if (oldest === undefined || at < oldest) oldest = at;
  }
  return oldest ?? START;
}

export async function startGuardian(config: GuardianConfig, options: GuardianOptions = {}): Promise<Guardian> {
  const logger = options.logger ?? pino({ name: `guardian-${config.peer}` });
  const location = options.log ?? logLocation(config);
  if (location.kind === 'sqlite') mkdirSync(config.dataDir, { recursive: true });
  // A guardian serves requests: its SQLite commits (and their fsync) run on a writer thread, off the event loop.
  const opened = await openEventLog(location.kind === 'sqlite' ? { commitOn: 'writerThread', ...location } : location, { guardian: config.peer });
  // The events this guardian appended: the projections' lag counts them, so a projection host that
  // stopped following (a failed projection) shows as lagging, not as current.
  const log = countAppends(opened);
  const closers: (() => Promise<void>)[] = [() => log.close()];
  const closeAll = async () => {
    for (const close of closers.reverse().splice(0)) await close().catch((error: unknown) => logger.warn({ err: error }, 'while closing'));
  };

  let federation: FederationConfigured;
  let projections: ProjectionHost;
  let engine: Engine;
  let checker: SignatureChecker;
  let transport: Transport | undefined;
  const metrics: ConsensusMetrics = createMetrics();
  try {
    federation = await ensureFederation(log, consensusConfig(config));
    await checkStoredLog(log, { location, recorded: federation, configured: consensusConfig(config) });
    const backend = fastestBackend((reason) => logger.warn({ reason }, 'signatures: native libsecp256k1 unavailable, using a slower backend'));
    const keychain = createKeychain({ federation: federationKeys(config), secretKey: hexToBytes(config.secretKey), backend });
    const workers = options.signatureWorkers ?? availableParallelism();
    // The event loop (session loop, dry runs, folds) is the serial stage every submission waits
    // for; the workers have slack. Measured under the guardian bench on 2 shared cores: a woken
    // worker took the loop's core (its run-queue wait was about its run time), and each coalesced
    // batch (~12 checks) was two worker messages. At nice 10 and one message per batch below 128
    // checks, the loop's run-queue wait fell from ~0.45 to ~0.27 s/s.
    checker = workers > 0 ? batchingSignatureChecker(createBatchVerifier({ workers, backend, minChunk: 64, workerPriority: 10 })) : inlineSignatureChecker(backend);
    closers.push(() => checker.close());
    projections = await startProjections(log, { retention: config.checkpointRetention, appended: log.appended, onSnapshotSkipped: (name, skip) => logger.warn({ projection: name, skip }, 'checkpoint ignored') });
    const host = projections;
    registerProjectionMetrics(metrics.registry, () => host);
    closers.push(() => projections.stop());
    // The engine keeps its own write model and goes on; the read models stop where a projection threw.
    projections.changes$.subscribe({
      error: (error: unknown) => logger.error({ err: error }, 'a projection failed: the read models stopped following the log (see GET /v1/projections)'),
    });
    // Native sha256 for txids: the ledger hashes every submitted transaction twice (dry run, loop) on the API's thread.
    const rules = ledgerRules({ peerCount: federation.peers.length, modules: createModules(modulesConfigFromJson(federation.modules)), verify: backend.verify, sha256: nativeSha256 });
    let member: FederationMember | undefined;
    if (federation.peers.length >= 4) {
      const p2p = await startTransport({
        ...transportIdentity(config),
        maxFrameBytes: P2P_MAX_FRAME_BYTES,
        sendQueueLimit: P2P_SEND_QUEUE_FRAMES,
        backoff: P2P_BACKOFF,
        logger: logger.child({ component: 'p2p' }),
      });
      transport = p2p;
      closers.push(() => p2p.close());
      registerPeerLinkMetrics(metrics.registry, () => p2p.linkStates());
      const joined = startFederationMember({
        keychain,
        log,
        links: p2p,
        registry: codecRegistry(rules.modules),
        consensusHash: hexToBytes(federation.consensusHash),
        roundDelayMs: federation.roundDelayMs,
        roundsPerSession: federation.roundsPerSession,
        onOwnUnitOrdered: (rounds) => metrics.unitOrderingRounds.observe(rounds),
        onMismatch: (peer, theirs) =>
          logger.error({ peer, theirs, ours: federation.consensusHash }, 'Consensus hash mismatch: this peer runs another federation configuration; its links are ignored'),
      });
      member = joined;
      closers.push(() => Promise.resolve(joined.close()));
      logger.info({ peers: federation.peers.length, threshold: federation.threshold, p2p: p2p.address }, 'waiting for a threshold of guardians to confirm the consensus hash');
      const stopped = new Promise<never>((_, reject) => options.signal?.addEventListener('abort', () => reject(new ConfigError('stopped while waiting for the federation')), { once: true }));
      stopped.catch(() => undefined);
      await Promise.race([joined.hashCheck.agreed, stopped]);
      logger.info({ confirmed: joined.hashCheck.confirmed() }, 'the federation agrees on the consensus hash');
    }
    engine = await startEngine({
      log,
      keychain,
      rules,
      checker,
      sessionSeconds: federation.sessionSeconds,
      roundsPerSession: federation.roundsPerSession,
      queueCapacity: config.queueCapacity,
      ...(member === undefined ? {} : { ordering: (proposals: Parameters<FederationMember['ordering']>[0]) => member.ordering(proposals) }),
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      checkpointPolicy: { minEvents: config.checkpointMinEvents, lastPosition: newestCheckpointPosition(projections) },
      metrics,
      logger,
      async seedLedger(position) {
        await projections.waitFor(position);
        const seed = ledgerSeed(projections.state(ledgerProjection));
        if (seed === undefined) throw new ConfigError('the ledger projection has no federation configuration');
        return seed.ledger;
      },
      async checkpoint(session, position) {
        await projections.waitFor(position);
        await projections.checkpoint(session);
      },
    });
  } catch (error) {
    await closeAll();
    throw error;
  }

  const done = engine.done.then(
    () => closeAll(),
    async (error: unknown) => {
      await closeAll();
      throw error;
    },
  );
  done.catch(() => undefined);

  const lookup = (txid: string): TxStatus | undefined => {
    const known = engine.knownStatus(txid);
    if (known !== undefined && known.status !== 'pending') return known;
    const recorded = lookupTransaction(projections.state(transactionsProjection), txid);
    if (recorded.status === 'accepted') return { txid, status: 'accepted', session: recorded.session, index: recorded.index };
    if (recorded.status === 'rejected') return { txid, status: 'rejected', session: recorded.session, reason: recorded.reason };
    return known;
  };

  logger.info({ peer: config.peer, session: engine.currentSession(), consensusHash: federation.consensusHash, log: location.kind }, 'guardian started');

  return {
    peer: config.peer,
    log,
    projections,
    metrics: metrics.registry,
    logger,
    federation: () => ({
      peers: config.federation.peers.map((p) => ({ id: p.id, pubkey: p.pubkey, apiUrl: p.apiUrl })),
      threshold: federation.threshold,
      consensusHash: federation.consensusHash,
      modules: { wallet: { withdrawFeeMsat: federation.modules.wallet.withdrawFeeMsat } },
      configuration: {
        keys: federation.keys,
        peers: federation.peers,
        threshold: federation.threshold,
        sessionSeconds: federation.sessionSeconds,
        roundDelayMs: federation.roundDelayMs,
        roundsPerSession: federation.roundsPerSession,
        modules: federation.modules,
      },
    }),
    submitTransaction: (txHex) => engine.submitTransaction(txHex),
    observeDeposit: (d) => engine.observeDeposit(d),
    async transactionStatus(txid, waitMs, signal) {
      const id = txid.toLowerCase();
      const now = lookup(id);
      if ((now !== undefined && now.status !== 'pending') || waitMs <= 0) return now ?? { txid: id, status: 'unknown' };
      const waited = await engine.waitForOutcome(id, waitMs, signal);
      return waited ?? lookup(id) ?? { txid: id, status: 'unknown' };
    },
    async transactionStatuses(txids, waitMs, signal) {
      // A txid the engine holds as pending is decided by the engine first (it wakes its waiters as
      // it records), so only the others need the transactions projection.
      const now = txids.map((txid) => {
        const known = engine.knownStatus(txid);
        return known?.status === 'pending' ? known : lookup(txid);
      });
      const open = txids.filter((_, i) => now[i] === undefined || now[i].status === 'pending');
      if (open.length === 0 || waitMs <= 0) return txids.map((txid, i) => now[i] ?? { txid, status: 'unknown' });
      const waited = await engine.waitForOutcomes(open, waitMs, signal);
      let next = 0;
      return txids.map((txid, i) => {
        const before = now[i];
        if (before !== undefined && before.status !== 'pending') return before;
        return waited[next++] ?? lookup(txid) ?? { txid, status: 'unknown' };
      });
    },
    currentSession: () => engine.currentSession(),
    scheduleShutdown: (afterSession) => engine.scheduleShutdown(afterSession),
    sessionCompleted$: engine.sessionCompleted$.pipe(map(({ session, header, itemCount }) => ({ session, header, itemCount }))),
    sessions$: engine.sessionCompleted$,
    links: () => transport?.linkStates() ?? [],
    done,
    async stop() {
      await engine.stop();
      await done.catch(() => undefined);
    },
  };
}
