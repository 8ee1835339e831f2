/**
 * A replica's HTTP API: the guardian's own routes (src/api), over a read-only GuardianHandle whose
 * log and projections are the replica's, behind a guard that answers every submission and admin
 * request 403 with where to send it instead. Every answer carries how far behind the replica is
 * (`Fedlog-Replica-Lag`, in sessions), and GET /v1/replica says it in full.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { Gauge, type Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import type { GuardianHandle, TxStatus } from '../consensus/guardian.ts';
import { createApi, type Api } from '../api/app.ts';
import { startApiFront, type ApiFront, type ApiFrontOptions } from '../api/apiFront.ts';
import type { ProjectionHost } from '../projections/projectionHost.ts';
import { lookupTransaction, transactionsProjection } from '../projections/transactions.ts';
import type { EventLog } from '../streams/eventLog.ts';
import type { FollowerStatus } from './follower.ts';
import type { PinnedFederation } from './pinnedFederation.ts';

/** What GET /v1/replica says: the follower's state, and how the replica reads the guardian (its API, or its streams in the cluster). */
export type ReplicaStatus = FollowerStatus & { mode: 'guardian' | 'cluster' };

export interface ReplicaApiDependencies {
  /** The followed guardian: its API, or its streams in the cluster. */
  source: string;
  log: EventLog;
  projections: ProjectionHost;
  registry: Registry;
  federation: PinnedFederation;
  status(): ReplicaStatus;
  sessionCompleted$: Observable<{ session: number; header: string; itemCount: number }>;
  stop(): Promise<void>;
}

/** Not a guardian: a replica signs nothing, orders nothing, and has no admin. */
class ReadOnlyReplicaError extends Error {
  override readonly name = 'ReadOnlyReplicaError';
}

/** What the API's routes need, answered from the replica's own log and projections. */
export function readOnlyHandle(deps: ReplicaApiDependencies): GuardianHandle {
  const refused = async () => ({ kind: 'invalid' as const, reason: `this is a read-only replica of ${deps.source}: submit to a guardian` });
  const lookup = (txid: string): TxStatus => {
    const id = txid.toLowerCase();
    const found = lookupTransaction(deps.projections.state(transactionsProjection), id);
    if (found.status === 'accepted') return { txid: id, status: 'accepted', session: found.session, index: found.index };
    if (found.status === 'rejected') return { txid: id, status: 'rejected', session: found.session, reason: found.reason };
    return { txid: id, status: 'unknown' };
  };
  /** A replica learns of a transaction only once its session is recorded: wait for sessions, up to `waitMs`. */
  const waitFor = (txids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<TxStatus[]> =>
    new Promise((resolve) => {
      const answer = () => txids.map(lookup);
      const settled = () => answer().every((s) => s.status !== 'unknown');
      if (waitMs <= 0 || settled()) return resolve(answer());
      const finish = () => {
        clearTimeout(timer);
        subscription.unsubscribe();
        signal?.removeEventListener('abort', finish);
        resolve(answer());
      };
      const timer = setTimeout(finish, waitMs);
      const subscription = deps.sessionCompleted$.subscribe({ next: () => void (settled() && finish()), complete: finish });
      signal?.addEventListener('abort', finish, { once: true });
    });
  return {
    peer: -1,
    log: deps.log,
    projections: deps.projections,
    metrics: deps.registry,
    federation: () => ({ peers: deps.federation.peers, threshold: deps.federation.threshold, consensusHash: deps.federation.consensusHash, modules: deps.federation.modules }),
    submitTransaction: refused,
    observeDeposit: refused,
    transactionStatus: async (txid, waitMs, signal) => (await waitFor([txid], waitMs, signal))[0]!,
    transactionStatuses: (txids, waitMs, signal) => waitFor(txids, waitMs, signal),
    currentSession: () => deps.status().sessions,
    scheduleShutdown() {
      throw new ReadOnlyReplicaError('a replica has no sessions of its own to shut down after');
    },
    sessionCompleted$: deps.sessionCompleted$,
    links: () => [],
    stop: deps.stop,
  };
}

/**
 * The replica's app, and what the API front thread needs (src/api/apiFront.ts): the guardian's
 * cached GETs are the replica's too, and the front gives a replica the same request timeouts and
 * per-client connection limit a guardian has.
 */
export function createReplicaApi(deps: ReplicaApiDependencies): Api {
  registerReplicaMetrics(deps.registry, deps.status);
  const api = createApi(readOnlyHandle(deps), {
    // Never used: the guard below answers /v1/admin/* before the API sees it.
    adminToken: 'replica-has-no-admin-endpoints',
    onError: (error) => console.error('fedlog replica api: unexpected failure', error),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    const lag = deps.status().lagSessions;
    res.set('Fedlog-Replica-Lag', lag === undefined ? 'unknown' : String(lag));
    next();
  });
  app.get('/v1/replica', (_req, res) => {
    res.json({ source: deps.source, consensusHash: deps.federation.consensusHash, keysFrom: deps.federation.origin, ...deps.status() });
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const writes = req.method !== 'GET' && req.method !== 'HEAD';
    if (!writes && !req.path.startsWith('/v1/admin/')) return next();
    res.status(403).json({ error: 'read_only', reason: `this is a read-only replica of ${deps.source}: send ${req.method} ${req.path} to a guardian` });
  });
  app.use(api.app);
  return { ...api, app };
}

/** A replica's front, as a guardian's: its slow-client limits and the front thread's nice value. */
export type ReplicaFrontLimits = Pick<ApiFrontOptions, 'headersTimeoutMs' | 'requestTimeoutMs' | 'maxConnectionsPerClient' | 'priority'>;

/** The replica's API served through the API front thread, with a guardian's slow-client limits. */
export function startReplicaFront(
  deps: ReplicaApiDependencies,
  options: { host: string; port: number; limits?: ReplicaFrontLimits; onFailure(error: Error): void },
): Promise<ApiFront> {
  return startApiFront(createReplicaApi(deps), {
    host: options.host,
    port: options.port,
    // Long-polls of transaction statuses hold requests for up to 30 s, as on a guardian.
    keepAliveTimeoutMs: 65_000,
    // A guardian's default (api.frontPriority): on busy cores analysts' answers do not queue behind the following.
    priority: -10,
    ...options.limits,
    changes: deps.projections.changes$,
    onFailure: options.onFailure,
  });
}

function registerReplicaMetrics(registry: Registry, status: () => FollowerStatus): void {
  new Gauge({
    name: 'fedlog_replica_sessions',
    help: 'Sessions this replica recorded',
    registers: [registry],
    collect() {
      this.set(status().sessions);
    },
  });
  new Gauge({
    name: 'fedlog_replica_lag_sessions',
    help: 'Completed sessions of the followed guardian this replica has not recorded yet (as of its last contact)',
    registers: [registry],
    collect() {
      this.set(status().lagSessions ?? -1);
    },
  });
  new Gauge({
    name: 'fedlog_replica_state',
    help: 'The replica state (1 for the current one): following, caughtUp, unreachable, refused, stopped',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const current = status().state;
      for (const state of ['following', 'caughtUp', 'unreachable', 'refused', 'stopped']) this.set({ state }, state === current ? 1 : 0);
    },
  });
}
