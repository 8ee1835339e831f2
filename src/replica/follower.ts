/**
 * The replica's one loop: find the first session its log lacks, take that session's signed
 * outcome from the guardian (long-polling once caught up), check it (outcomeImport.ts) and append
 * its events to `session-<i>` in one append, as a guardian completing a session from a peer's
 * outcome does. The log's completed sessions are where a restarted replica continues.
 */
import { Subject, type Observable } from 'rxjs';
import type { LedgerRules, LedgerState } from '../domain/ledger.ts';
import type { FederationKeys } from '../domain/federation.ts';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import type { EventLog, Position } from '../streams/eventLog.ts';
import { streams } from '../streams/events.ts';
import { GuardianUnreachableError, type GuardianFeed, type SessionTimes, type SignedAnswer } from './guardianFeed.ts';
import { importSignedOutcome } from './outcomeImport.ts';

export type FollowerState = 'following' | 'caughtUp' | 'unreachable' | 'refused' | 'stopped';

export interface FollowerStatus {
  state: FollowerState;
  /** Sessions this replica recorded (sessions 0..sessions-1). */
  sessions: number;
  /** Completed sessions the guardian reported last. */
  guardianSessions?: number;
  /** guardianSessions - sessions, as of the last contact: how far behind this replica is. */
  lagSessions?: number;
  lastContactAt?: string;
  /** Why the replica is unreachable or refused the guardian. */
  error?: string;
}

export interface FollowerOptions {
  feed: GuardianFeed;
  /** The replica's own schema-checked log. */
  log: EventLog;
  /** The first session the log lacks, and the ledger after the sessions before it. */
  start: { session: number; ledger: LedgerState };
  keys: FederationKeys;
  rules: LedgerRules;
  backend: SchnorrBackend;
  /** Longest long-poll for the next session once caught up (default 10 s). */
  pollWaitMs?: number;
  /** Signed outcomes fetched ahead while behind (default 4). */
  prefetch?: number;
  /** Waits after an unreachable guardian: first, doubled, capped (default 200 ms .. 5 s). */
  backoff?: { minMs: number; maxMs: number };
  /** Each recorded session, with the position of its SessionCompleted. */
  onSession?: (session: { session: number; header: string; itemCount: number; position: Position }) => void;
  onUnreachable?: (error: GuardianUnreachableError) => void;
}

export interface Follower {
  status(): FollowerStatus;
  readonly sessionCompleted$: Observable<{ session: number; header: string; itemCount: number }>;
  /** Resolves when stopped; rejects with the error that made the replica refuse the guardian (OutcomeRefusedError, ...). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const SESSION_PAGE = 100;

export function startFollower(options: FollowerOptions): Follower {
  const { feed, log } = options;
  const pollWaitMs = options.pollWaitMs ?? 10_000;
  const prefetch = Math.max(1, options.prefetch ?? 4);
  const backoff = options.backoff ?? { minMs: 200, maxMs: 5_000 };
  const stopping = new AbortController();
  const sessionCompleted$ = new Subject<{ session: number; header: string; itemCount: number }>();
  let next = options.start.session;
  let ledger = options.start.ledger;
  const status: FollowerStatus = { state: 'following', sessions: next };

  const contact = (guardianSessions: number) => {
    status.guardianSessions = Math.max(guardianSessions, next);
    status.lagSessions = status.guardianSessions - next;
    status.lastContactAt = new Date().toISOString();
  };

  const record = async (answer: SignedAnswer, times: SessionTimes | undefined) => {
    const imported = importSignedOutcome({ keys: options.keys, rules: options.rules, backend: options.backend }, ledger, answer, times);
    const result = await log.append(streams.session(answer.session), imported.events, { expectedRevision: 'noStream' });
    ledger = imported.state;
    next = answer.session + 1;
    status.sessions = next;
    if (status.guardianSessions !== undefined) status.lagSessions = Math.max(0, status.guardianSessions - next);
    options.onSession?.({ session: answer.session, header: imported.header, itemCount: imported.itemCount, position: result.position });
    sessionCompleted$.next({ session: answer.session, header: imported.header, itemCount: imported.itemCount });
  };

  /** Sessions next..count-1, fetched `prefetch` ahead and recorded in order. */
  const catchUp = async (count: number, signal: AbortSignal) => {
    while (next < count && !signal.aborted) {
      const times = await feed.sessionTimes(next, Math.min(SESSION_PAGE, count - next), signal);
      const page = times.filter((t) => t.session >= next && t.session < count).sort((a, b) => a.session - b.session);
      if (page.length === 0 || page[0]!.session !== next) throw new GuardianUnreachableError(`the guardian lists no session ${next} though it reports ${count} complete`);
      const inFlight: Promise<SignedAnswer | undefined>[] = [];
      let asked = 0;
      const fill = () => {
        while (asked < page.length && inFlight.length < prefetch) {
          const pending = feed.signedOutcome(page[asked++]!.session, 0, signal);
          pending.catch(() => undefined);
          inFlight.push(pending);
        }
      };
      fill();
      for (const summary of page) {
        const answer = await inFlight.shift()!;
        fill();
        if (answer === undefined) throw new GuardianUnreachableError(`the guardian reports session ${summary.session} complete but does not serve its signed outcome`);
        await record(answer, summary);
      }
    }
  };

  const run = async () => {
    let failures = 0;
    const signal = stopping.signal;
    while (!signal.aborted) {
      try {
        const count = await feed.sessionCount(signal);
        contact(count);
        if (next < count) {
          status.state = 'following';
          await catchUp(count, signal);
        } else {
          status.state = 'caughtUp';
          const answer = await feed.signedOutcome(next, pollWaitMs, signal);
          if (answer !== undefined) {
            const [times] = await feed.sessionTimes(answer.session, 1, signal);
            await record(answer, times?.session === answer.session ? times : undefined);
          }
        }
        failures = 0;
        delete status.error;
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof GuardianUnreachableError)) throw error;
        // The guardian restarting or the network failing is routine: wait and ask again.
        status.state = 'unreachable';
        status.error = error.message;
        options.onUnreachable?.(error);
        await sleep(Math.min(backoff.minMs * 2 ** failures++, backoff.maxMs), signal);
      }
    }
  };

  const done = run().then(
    () => {
      status.state = 'stopped';
      sessionCompleted$.complete();
    },
    (error: unknown) => {
      status.state = 'refused';
      status.error = error instanceof Error ? error.message : String(error);
      sessionCompleted$.complete();
      throw error;
    },
  );
  done.catch(() => undefined);

  return {
    status: () => ({ ...status }),
    sessionCompleted$: sessionCompleted$.asObservable(),
    done,
    async stop() {
      stopping.abort();
      await done.catch(() => undefined);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
