/**
 * A cluster replica (`fedlog follow --log esdb://... --stream-prefix <guardian's prefix> --keys <file>`):
 * with a guardian whose log is in an EventStoreDB cluster, a replica needs no copy of its own. It
 * opens the guardian's streams read-only, checks the federation they record against the keys the
 * operator trusts, and runs the standard projections over the verified prefix of the log (each
 * session released once a threshold of those keys signed its recorded items), through the log's
 * subscription. It takes no checkpoints and loads none: a snapshot is the guardian's word about a
 * state, which no signature covers, so the replica folds from the start.
 */
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { completedSessionCount } from '../consensus/engine/openSession.ts';
import { federationTag } from '../domain/federation.ts';
import { startProjections, type ProjectionHost } from '../projections/projectionHost.ts';
import { registerProjectionMetrics } from '../projections/projectionMetrics.ts';
import { fastestBackend } from '../runtime/signatures/fastest.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { isEvent, streams } from '../streams/events.ts';
import { openEventLog, type EventLogLocation } from '../streams/openEventLog.ts';
import { readOnlyLog } from '../streams/readOnlyLog.ts';
import { OutcomeRefusedError } from './outcomeImport.ts';
import { federationFromLog, federationKeysOf, FederationMismatchError } from './pinnedFederation.ts';
import { startReplicaFront, type ReplicaFrontLimits, type ReplicaStatus } from './replicaApi.ts';
import { verifiedPrefixLog } from './verifiedPrefixLog.ts';

export type ClusterLocation = Extract<EventLogLocation, { kind: 'eventstoredb' }>;

export interface ClusterReplicaOptions {
  /** The guardian's log: the cluster and the guardian's stream prefix, as in its config's `log`. */
  location: ClusterLocation;
  /** The federation keys to trust (as `fedlog verify --keys`); required, since nothing is pinned. */
  keysFile: string;
  port: number;
  host?: string;
  /** How often the cluster's completed sessions are read for the lag (default 1 s). */
  headPollMs?: number;
  limits?: ReplicaFrontLimits;
  logger?: Logger;
  /** Opens the guardian's log (default: openEventLog, schema-checked); tests pass an emulated cluster. */
  openLog?: (location: ClusterLocation) => Promise<EventLog>;
}

export interface ClusterReplica {
  readonly url: string;
  readonly projections: ProjectionHost;
  /** The view the API reads: the verified prefix of the guardian's streams, refusing every write. */
  readonly log: EventLog;
  status(): ReplicaStatus;
  /** Rejects with OutcomeRefusedError when a session does not hold; the verified sessions stay served. */
  readonly following: Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterReplica(options: ClusterReplicaOptions): Promise<ClusterReplica> {
  const logger = options.logger ?? pino({ name: 'replica' });
  const where = `${options.location.url} streams ${options.location.streamPrefix ?? '(unprefixed)'}`;
  const open = options.openLog ?? ((location: ClusterLocation) => openEventLog(location, { guardian: 0 }));
  const source = readOnlyLog(await open(options.location));
  const closers: (() => Promise<unknown>)[] = [() => source.close()];
  const closeAll = async () => {
    for (const close of closers.reverse().splice(0)) await close().catch((error: unknown) => logger.warn({ err: error }, 'while closing'));
  };
  try {
    const [recorded] = await source.readStream(streams.federation, { maxCount: 1 });
    if (recorded === undefined || !isEvent(recorded, 'FederationConfigured')) throw new FederationMismatchError(`no federation configuration in ${where}: is the stream prefix the guardian's, and has it started?`);
    const pinned = federationFromLog(recorded.data, options.keysFile);
    const keys = federationKeysOf(pinned);
    const backend = fastestBackend((reason) => logger.warn({ reason }, 'signatures: native libsecp256k1 unavailable, using a slower backend'));
    const verified = verifiedPrefixLog(source, { keys, backend, tag: federationTag(keys), consensusHash: pinned.consensusHash });
    closers[0] = () => verified.log.close();

    let refusedWith: (error: OutcomeRefusedError) => void = () => {};
    const following = new Promise<void>((resolve, reject) => {
      refusedWith = reject;
      closers.push(async () => resolve());
    });
    following.catch(() => undefined);
    const projections = await startProjections(verified.log, { retention: 0 });
    closers.push(() => projections.stop());
    const status: ReplicaStatus = { mode: 'cluster', state: 'following', sessions: verified.sessions() };
    const refused = (refusal: OutcomeRefusedError) => {
      if (status.state === 'refused') return;
      status.state = 'refused';
      status.error = refusal.message;
      logger.error({ err: refusal.message }, 'refused the guardian: following stopped; the verified sessions are still served');
      refusedWith(refusal);
    };
    projections.changes$.subscribe({
      error(error: unknown) {
        if (error instanceof OutcomeRefusedError) return refused(error);
        status.state = 'unreachable';
        status.error = error instanceof Error ? error.message : String(error);
        logger.error({ err: error }, 'the projections stopped following the cluster (see GET /v1/projections)');
      },
    });
    // The catch-up may already have stopped at a session that does not hold.
    const atStart = verified.refusal();
    if (atStart !== undefined) refused(atStart);

    const head = pollClusterHead({ source, projections, status, sessions: verified.sessions, everyMs: options.headPollMs ?? 1_000, logger });
    closers.push(() => head.stop());
    await head.poll();

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerProjectionMetrics(registry, () => projections);
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= closeAll().then(() => void (status.state = 'stopped')));
    const front = await startReplicaFront(
      { source: where, log: verified.log, projections, registry, federation: pinned, status: () => ({ ...status, sessions: verified.sessions() }), sessionCompleted$: verified.sessionCompleted$, stop },
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
    logger.info({ from: where, sessions: verified.sessions(), consensusHash: pinned.consensusHash }, 'cluster replica started');
    return { url: front.url, projections, log: verified.log, status: () => ({ ...status, sessions: verified.sessions() }), following, stop };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

interface HeadPoll {
  source: EventLog;
  projections: ProjectionHost;
  status: ReplicaStatus;
  sessions(): number;
  everyMs: number;
  logger: Logger;
}

/**
 * Reads the cluster's head of the guardian's streams every `everyMs`: its completed sessions (a
 * few single-event reads), against the sessions served. The lag is in sessions, as over HTTP: the
 * open session's events are past the served prefix until the federation signs it.
 */
function pollClusterHead({ source, projections, status, sessions, everyMs, logger }: HeadPoll): { poll(): Promise<void>; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const poll = async () => {
    try {
      const guardianSessions = await completedSessionCount(source);
      status.guardianSessions = guardianSessions;
      status.lagSessions = Math.max(0, guardianSessions - sessions());
      status.lastContactAt = new Date().toISOString();
      if (status.state === 'refused' || projections.status().some((p) => p.failed !== undefined)) return;
      status.state = status.lagSessions === 0 ? 'caughtUp' : 'following';
      delete status.error;
    } catch (error) {
      if (status.state === 'refused') return;
      status.state = 'unreachable';
      status.error = error instanceof Error ? error.message : String(error);
      logger.warn({ err: status.error }, 'the cluster is unreachable; retrying');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = poll().then(schedule);
    }, everyMs);
  };
  schedule();
  return {
    poll: () => (running = poll()),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

