/**
 * A read replica, composed (`fedlog follow`): its own embedded SQLite log in its data directory,
 * the federation pinned there, the guardian's projections over that log, the follower that fills
 * it from the guardian's signed outcomes, and the guardian's analyst API over all of it. Any
 * number of replicas can follow one guardian (or each other: a replica serves the same
 * GET /v1/federation and /v1/sessions/:i/signed), and none of them can change what it serves.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ledgerRules } from '../domain/ledger.ts';
import { createModules, modulesConfigFromJson } from '../domain/modules/consensusModules.ts';
import { completedSessionCount } from '../consensus/engine/openSession.ts';
import { ledgerProjection, ledgerSeed } from '../projections/ledger.ts';
import { startProjections, type ProjectionHost } from '../projections/projectionHost.ts';
import { registerProjectionMetrics } from '../projections/projectionMetrics.ts';
import { fastestBackend } from '../runtime/signatures/fastest.ts';
import { START, type EventLog, type Position } from '../streams/eventLog.ts';
import { isEvent, newEvent, streams, type FederationConfigured } from '../streams/events.ts';
import { countAppends } from '../streams/appendCounter.ts';
import { openEventLog } from '../streams/openEventLog.ts';
import { startFollower, type Follower, type FollowerStatus } from './follower.ts';
import { guardianFeed } from './guardianFeed.ts';
import { federationKeysOf, FederationMismatchError, pinFederation, type PinnedFederation } from './pinnedFederation.ts';
import { startReplicaFront, type ReplicaFrontLimits } from './replicaApi.ts';

export interface ReplicaOptions {
  /** The followed guardian's API, e.g. http://guardian-0:8174. */
  from: string;
  dataDir: string;
  port: number;
  host?: string;
  /** Pinned federation keys for the first start (as `fedlog verify --keys`); default: the guardian's, trusted on first use. */
  keysFile?: string;
  /** Snapshots kept per projection (default 3), taken once `checkpointMinEvents` events were recorded since the last (default 50,000). */
  checkpointRetention?: number;
  checkpointMinEvents?: number;
  pollWaitMs?: number;
  /** The API's slow-client limits, as a guardian's (defaults: 10 s for headers, 30 s for a request, 512 connections per client, the front thread at nice -10 where permitted). */
  limits?: ReplicaFrontLimits;
  logger?: Logger;
}

export interface Replica {
  /** Where its API listens. */
  readonly url: string;
  readonly projections: ProjectionHost;
  status(): FollowerStatus;
  /** Rejects when the replica refused the guardian (a forged outcome, another federation); the API keeps serving. */
  readonly following: Promise<void>;
  stop(): Promise<void>;
}

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const logger = options.logger ?? pino({ name: 'replica' });
  const feed = guardianFeed(options.from);
  mkdirSync(options.dataDir, { recursive: true });
  // Every start: the guardian must still describe the pinned federation.
  const served = await feed.federation();
  const pinned = pinFederation(options.dataDir, served, options.keysFile);
  const followed = pinned.peers.find((p) => p.apiUrl.replace(/\/$/, '') === feed.url)?.id ?? 0;

  const log = countAppends(await openEventLog({ kind: 'sqlite', path: join(options.dataDir, 'log.sqlite'), commitOn: 'writerThread' }, { guardian: followed }));
  const closers: (() => Promise<unknown>)[] = [() => log.close()];
  const closeAll = async () => {
    for (const close of closers.reverse().splice(0)) await close().catch((error: unknown) => logger.warn({ err: error }, 'while closing'));
  };
  try {
    await ensureFederation(log, pinned);
    const projections = await startProjections(log, { retention: options.checkpointRetention ?? 3, appended: log.appended });
    closers.push(() => projections.stop());
    projections.changes$.subscribe({ error: (error: unknown) => logger.error({ err: error }, 'a projection failed: the read models stopped following the log (see GET /v1/projections)') });
    const seed = ledgerSeed(projections.state(ledgerProjection));
    if (seed === undefined) throw new FederationMismatchError('the replica log has no federation configuration');
    const backend = fastestBackend((reason) => logger.warn({ reason }, 'signatures: native libsecp256k1 unavailable, using a slower backend'));
    const rules = ledgerRules({ peerCount: pinned.peers.length, modules: createModules(modulesConfigFromJson(pinned.modules)), verify: backend.verify });
    const session = await completedSessionCount(log);

    const minEvents = BigInt(options.checkpointMinEvents ?? 50_000);
    let lastCheckpoint = oldestCheckpoint(projections);
    let checkpoints: Promise<void> = Promise.resolve();
    const follower: Follower = startFollower({
      feed,
      log,
      start: { session, ledger: seed.ledger },
      keys: federationKeysOf(pinned),
      rules,
      backend,
      ...(options.pollWaitMs === undefined ? {} : { pollWaitMs: options.pollWaitMs }),
      onSession({ session: recorded, position }) {
        if (position - lastCheckpoint < minEvents) return;
        lastCheckpoint = position;
        checkpoints = checkpoints
          .then(() => projections.waitFor(position))
          .then(() => projections.checkpoint(recorded))
          .catch((error: unknown) => logger.warn({ session: recorded, err: error }, 'checkpoint failed'));
      },
      onUnreachable: (error) => logger.warn({ err: error.message }, 'the guardian is unreachable; retrying'),
    });
    closers.push(async () => {
      await follower.stop();
      await checkpoints;
    });
    follower.done.catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'refused the guardian: following stopped; the verified sessions are still served'));

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerProjectionMetrics(registry, () => projections);
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= closeAll());
    const status = () => ({ mode: 'guardian' as const, ...follower.status() });
    const front = await startReplicaFront(
      { source: feed.url, log, projections, registry, federation: pinned, status, sessionCompleted$: follower.sessionCompleted$, stop },
      {
        host: options.host ?? '127.0.0.1',
        port: options.port,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
        onFailure(error) {
          logger.error({ err: error }, 'the API front thread failed: stopping');
          void stop();
        },
      },
    );
    // Connections first: a long-poll must not hold the log open.
    closers.splice(1, 0, () => front.close());
    logger.info({ from: feed.url, session, consensusHash: pinned.consensusHash, keys: pinned.origin }, 'replica started');
    return { url: front.url, projections, status: follower.status, following: follower.done, stop };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The replica's FederationConfigured: the federation as GET /v1/federation publishes it (peers,
 * keys, threshold, modules, consensus hash). That answer does not publish the session timing
 * parameters, which nothing on a replica reads; they are recorded as DESIGN.md's defaults.
 */
async function ensureFederation(log: EventLog, pinned: PinnedFederation): Promise<void> {
  const [recorded] = await log.readStream(streams.federation, { maxCount: 1 });
  if (recorded !== undefined) {
    if (!isEvent(recorded, 'FederationConfigured') || recorded.data.consensusHash !== pinned.consensusHash) {
      throw new FederationMismatchError(`the replica log belongs to another federation than the pinned ${pinned.consensusHash}`);
    }
    return;
  }
  const configured: FederationConfigured = {
    peers: pinned.peers,
    threshold: pinned.threshold,
    sessionSeconds: 60,
    roundDelayMs: 50,
    roundsPerSession: 3600,
    modules: { wallet: pinned.modules.wallet, mint: {} },
    checkpointRetention: 0,
    keys: Object.fromEntries(pinned.peers.map((p) => [String(p.id), p.pubkey])),
    consensusHash: pinned.consensusHash,
  };
  await log.append(streams.federation, [newEvent('FederationConfigured', configured)], { expectedRevision: 'noStream' });
}

/** Where the newest checkpoint common to every projection was taken (START when one has none). */
function oldestCheckpoint(projections: ProjectionHost): Position {
  const positions = projections.status().map((p) => (p.newestCheckpoint === undefined ? START : BigInt(p.newestCheckpoint.position)));
  return positions.reduce((min, at) => (at < min ? at : min), positions[0] ?? START);
}
