import { Subject, Subscription, type Observable } from 'rxjs';
import { START, type EventLog, type Position, type RecordedEvent } from '../streams/eventLog.ts';
import type { AppendCount } from '../streams/appendCounter.ts';
import { pagesOf } from '../streams/pagedRead.ts';
import { appendSnapshot, loadNewestSnapshot, type CheckpointRef, type SnapshotSkip } from './checkpointStore.ts';
import { foldInto, type AnyProjection, type Projection } from './projection.ts';
import { standardProjections } from './standardProjections.ts';

/**
 * Runs projections over one guardian's log: load each one's newest usable checkpoint, catch up from
 * the oldest of their positions, then follow the log live through `subscribe`. Every projection sees
 * every event after its own position exactly once and in order, so its state is a pure function of
 * the log prefix it has read, however that prefix was cut into snapshots.
 */

export interface ProjectionStatus {
  name: string;
  version: number;
  /** Decimal string: positions are bigints. */
  position: string;
  /**
   * Events the host knows were appended (through `appended`, or received from the log) that the
   * projection has not folded. Counted from the end of the catch-up, before which the host does not
   * answer, so it is an event count on every adapter, whatever the spacing of its positions.
   */
  lag: number;
  newestCheckpoint?: { session: number; position: string };
  /** Set on the projection whose evolve threw: the host stopped following the log there (every projection's lag grows from then on). */
  failed?: { position: string; reason: string };
}

export interface ProjectionHost {
  /** Current state of a projection (by object or name). Throws for a projection this host does not run. */
  state<S>(projection: Projection<S> | string): S;
  /** The log position `name` reflects (0n before any event). */
  position(name: string): Position;
  /** Resolves once every projection has processed the event at `position`; rejects on abort, stop or failure. */
  waitFor(position: Position, signal?: AbortSignal): Promise<void>;
  /** Emits the position of each processed event (live: once the delivery it came in is folded). Errors with ProjectionFailedError if a projection throws; completes on stop. */
  readonly changes$: Observable<{ position: Position }>;
  /** Appends SnapshotTaken for every projection to checkpoint-<name>, which keeps the newest `retention`, older ones kept by the tier rule (checkpointTiers.ts). No-op for retention 0. */
  checkpoint(session: number): Promise<void>;
  status(): ProjectionStatus[];
  stop(): Promise<void>;
}

export interface ProjectionHostOptions {
  /** checkpointRetention (DESIGN.md): the newest snapshots each checkpoint stream keeps (checkpointTiers.ts) and a start considers; 0 disables checkpoints. */
  retention: number;
  /** Default: standardProjections(). */
  projections?: readonly AnyProjection[];
  /**
   * What was appended through the caller's log object (countAppends(log).appended), so `lag` also
   * counts events the log has not delivered yet (a stalled subscription). The count is matched with
   * the host's whenever the host reaches the newest appended position (at the end of the catch-up,
   * and again live), so events deleted before they were delivered are not owed for long.
   */
  appended?: () => AppendCount;
  /** Told about every checkpoint ignored at start (other version, bad hash, undecodable). */
  onSnapshotSkipped?: (projection: string, skip: SnapshotSkip) => void;
}

/** A projection threw while evolving: its state can no longer be trusted, so the host stops. */
export class ProjectionFailedError extends Error {
  constructor(
    readonly projection: string,
    readonly position: Position,
    override readonly cause: unknown,
  ) {
    super(`projection ${projection} failed at position ${position}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ProjectionFailedError';
  }
}

export class ProjectionHostStoppedError extends Error {
  constructor() {
    super('the projection host was stopped');
    this.name = 'ProjectionHostStoppedError';
  }
}

interface Entry {
  projection: AnyProjection;
  state: unknown;
  position: Position;
  newestCheckpoint?: CheckpointRef;
  /** Events folded since the catch-up ended (lag's count). */
  folded: number;
}

interface Waiter {
  position: Position;
  resolve(): void;
  reject(error: unknown): void;
}

/** Events folded per evolveAll call while catching up. */
const CATCH_UP_PAGE = 1024;

export async function startProjections(log: EventLog, options: ProjectionHostOptions): Promise<ProjectionHost> {
  const retention = options.retention;
  if (!Number.isInteger(retention) || retention < 0) throw new RangeError(`checkpoint retention must be a non-negative integer, got ${retention}`);
  const projections = options.projections ?? standardProjections();
  const names = new Set<string>();
  for (const p of projections) {
    if (names.has(p.name)) throw new Error(`two projections are named ${p.name}`);
    names.add(p.name);
  }

  const entries: Entry[] = [];
  for (const projection of projections) {
    const snapshot = await loadNewestSnapshot(log, projection, retention, (skip) => options.onSnapshotSkipped?.(projection.name, skip));
    entries.push(
      snapshot === undefined
        ? { projection, state: projection.initial, position: START, folded: 0 }
        : { projection, state: snapshot.state, position: snapshot.position, newestCheckpoint: { session: snapshot.session, position: snapshot.position }, folded: 0 },
    );
  }
  const byName = new Map(entries.map((e) => [e.projection.name, e]));

  const changes$ = new Subject<{ position: Position }>();
  let position = entries.reduce((min, e) => (e.position < min ? e.position : min), entries[0]?.position ?? START);
  let waiters: Waiter[] = [];
  let failure: unknown;
  let stopped = false;
  // Holds the live subscription; unsubscribing it before the subscription is added tears that down at once.
  const live = new Subscription();

  const settleWaiters = () => {
    if (waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of waiters) {
      if (w.position <= position) w.resolve();
      else still.push(w);
    }
    waiters = still;
  };

  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    live.unsubscribe();
    for (const w of waiters) w.reject(error);
    waiters = [];
    changes$.error(error);
  };

  /** Catch-up: a page of events per evolveAll call (see evolveBatch); a failure is located by folding the page again one event at a time. */
  const applyPage = (page: readonly RecordedEvent[]) => {
    for (const entry of entries) {
      const before = entry.position;
      const failed = foldInto(entry, page);
      entry.folded += eventsFolded(page, before, entry.position);
      if (failed !== undefined) throw new ProjectionFailedError(entry.projection.name, failed.position, failed.cause);
    }
    position = page[page.length - 1]!.position;
  };

  // Catch up before resolving, so the caller (the engine seeding its write model) sees the whole log as of start.
  // Pages are fresh arrays (the caller's to keep): projections may remember the array they were given.
  for await (const page of log.readAllPages?.(position, CATCH_UP_PAGE) ?? pagesOf(log.readAll(position), CATCH_UP_PAGE)) {
    if (page.length > 0) {
      applyPage(page);
      changes$.next({ position });
    }
  }
  // Lag's origin: from here on every event received is counted, and every fold.
  for (const entry of entries) entry.folded = 0;
  let received = 0;
  // The caller's count less this is the count of events appended since the origin.
  let appendedBefore = 0;
  // Matched where the host has every event counted so far: not past the newest counted append, whose
  // events a log may deliver before the append resolves (and before they are counted).
  const matchAppended = (at: Position, exactly: boolean) => {
    const appended = options.appended?.();
    if (appended !== undefined && (exactly ? at === appended.position : at >= appended.position)) appendedBefore = appended.events - received;
  };
  matchAppended(position, false);

  // Live: the subscription hands over a whole read page synchronously, one event per `next`; the
  // events of one delivery are folded together at its end (a microtask), as one page through
  // evolveAll. One fold per commit instead of one per event: measured under load, the per-event
  // fold (and the garbage of its intermediate states) was a large share of the session loop's thread.
  let delivery: RecordedEvent[] = [];
  const foldDelivery = () => {
    const page = delivery;
    // A fresh array per page: projections may keep the array they were given.
    delivery = [];
    if (failure !== undefined || stopped) return;
    try {
      applyPage(page);
    } catch (error) {
      fail(error);
      return;
    }
    // Subscribers see every position, as before, once the page they belong to is folded.
    for (const event of page) changes$.next({ position: event.position });
    settleWaiters();
  };

  live.add(
    log.subscribe(position).subscribe({
      next(event) {
        received += 1;
        matchAppended(event.position, true);
        if (delivery.push(event) === 1) queueMicrotask(foldDelivery);
      },
      error: fail,
      // The log was closed: nothing more will come; stop() finishes the rest.
      complete: () => {},
    }),
  );

  const entryOf = (projection: AnyProjection | string): Entry => {
    const name = typeof projection === 'string' ? projection : projection.name;
    const entry = byName.get(name);
    if (entry === undefined) throw new Error(`no projection named ${name} runs in this host`);
    return entry;
  };

  return {
    state<S>(projection: Projection<S> | string): S {
      return entryOf(projection).state as S;
    },
    position: (name) => entryOf(name).position,
    changes$: changes$.asObservable(),

    waitFor(target, signal) {
      if (failure !== undefined) return Promise.reject(failure as Error);
      if (target <= position) return Promise.resolve();
      if (stopped) return Promise.reject(new ProjectionHostStoppedError());
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          position: target,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (error) => {
            signal?.removeEventListener('abort', onAbort);
            reject(error as Error);
          },
        };
        const onAbort = () => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(signal?.reason as Error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },

    async checkpoint(session) {
      if (retention === 0) return;
      if (failure !== undefined) throw failure as Error;
      // Capture every state first: appending yields, and the live subscription may move states on meanwhile.
      const taken = entries.map((e) => ({ entry: e, state: e.state, position: e.position }));
      // Each projection has streams of its own: their appends share commits, their truncations too.
      await Promise.all(
        taken.map(async ({ entry, state, position: at }) => {
          const ref = await appendSnapshot(log, entry.projection, state, at, session, retention);
          entry.newestCheckpoint = { session: ref.session, position: ref.position };
        }),
      );
    },

    status() {
      const appended = (options.appended?.().events ?? 0) - appendedBefore;
      const known = appended > received ? appended : received;
      return entries.map((e) => ({
        name: e.projection.name,
        version: e.projection.version,
        position: e.position.toString(),
        lag: Math.max(0, known - e.folded),
        ...(e.newestCheckpoint === undefined ? {} : { newestCheckpoint: { session: e.newestCheckpoint.session, position: e.newestCheckpoint.position.toString() } }),
        ...(failure instanceof ProjectionFailedError && failure.projection === e.projection.name
          ? { failed: { position: failure.position.toString(), reason: failure.cause instanceof Error ? failure.cause.message : String(failure.cause) } }
          : {}),
        // The log's subscription failed (e.g. a cluster that stayed unreachable): every projection stopped following.
        ...(failure !== undefined && !(failure instanceof ProjectionFailedError)
          ? { failed: { position: e.position.toString(), reason: `the log subscription failed: ${failure instanceof Error ? failure.message : String(failure)}` } }
          : {}),
      }));
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      live.unsubscribe();
      const error = new ProjectionHostStoppedError();
      for (const w of waiters) w.reject(error);
      waiters = [];
      if (failure === undefined) changes$.complete();
    },
  };
}

/** How many events of `page` a fold moved a cursor past: those after `from`, up to and including `to`. */
function eventsFolded(page: readonly RecordedEvent[], from: Position, to: Position): number {
  if (to <= from || page.length === 0) return 0;
  if (page[0]!.position > from && page[page.length - 1]!.position <= to) return page.length;
  let count = 0;
  for (const event of page) if (event.position > from && event.position <= to) count += 1;
  return count;
}
