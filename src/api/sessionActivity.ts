import type { GuardianHandle } from '../consensus/guardian.ts';
import { getSession, listSessions, sessionsProjection, type SessionSummary } from '../projections/sessions.ts';
import { transactionsProjection, type TransactionsState } from '../projections/transactions.ts';
import { isEvent, streams } from '../streams/events.ts';

/**
 * What the dashboard charts and its session page read beyond the plain sessions list: transactions
 * per session (counted from the transactions projection's acceptances, newest first) with the
 * seconds each session took, and one session's summary with who signed it and whether each
 * signature was valid (the SignatureRecorded events of its stream).
 */

/** Sessions below the newest this many have no transaction count: a bounded walk, and bounded memory. */
export const ACTIVITY_WINDOW = 1000;

export interface SessionActivity {
  session: number;
  itemCount: number;
  /** Accepted transactions; absent for sessions older than the newest ACTIVITY_WINDOW. */
  transactions?: number;
  completedAt?: string;
  /** From the previous session's completion (its own start for the first) to this one's. */
  seconds?: number;
}

export interface SessionSignature {
  peer: number;
  signature?: string;
  /** As this guardian checked it when it was recorded; absent when no SignatureRecorded names the peer. */
  valid?: boolean;
  /** One of the threshold of signatures in the completed outcome. */
  inOutcome: boolean;
}

export interface SessionDetail {
  session: number;
  status: 'pending' | 'complete';
  header?: string;
  itemCount: number;
  transactions: number;
  moduleItems: number;
  startedAt?: string;
  completedAt?: string;
  seconds?: number;
  /** 'local': this guardian collected the threshold; 'peer': a peer's signed outcome completed it. */
  source?: 'local' | 'peer';
  signatures: SessionSignature[];
}

export interface OpenSession {
  session: number;
  /** Items accepted in it so far. */
  itemCount: number;
  startedAt?: string;
}

export interface SessionActivityReads {
  activity(from: number, limit: number): SessionActivity[];
  /** The session being agreed now. */
  open(): OpenSession;
  /** undefined for a session that has not started. */
  detail(session: number): Promise<SessionDetail | undefined>;
}

type Acceptance = NonNullable<TransactionsState['newest']>;

export function createSessionActivity(guardian: GuardianHandle, window = ACTIVITY_WINDOW): SessionActivityReads {
  const { projections } = guardian;
  const transactionsBySession = new Map<number, number>();
  // The newest acceptance counted so far: acceptances are immutable and linked newest first, so a
  // later walk stops where the previous one began.
  let counted: Acceptance | undefined;
  let floor: number | undefined;

  const countTransactions = (newestSession: number): void => {
    floor ??= Math.max(0, newestSession - window + 1);
    const newest = projections.state(transactionsProjection).newest;
    for (let a = newest; a !== undefined && a !== counted && a.session >= floor; a = a.previous) {
      transactionsBySession.set(a.session, (transactionsBySession.get(a.session) ?? 0) + 1);
    }
    counted = newest;
    const keepFrom = newestSession - window + 1;
    if (keepFrom > floor) {
      for (const session of transactionsBySession.keys()) if (session < keepFrom) transactionsBySession.delete(session);
      floor = keepFrom;
    }
  };

  const secondsBetween = (from: string | undefined, to: string | undefined): number | undefined =>
    from === undefined || to === undefined ? undefined : Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

  return {
    activity(from, limit) {
      const state = projections.state(sessionsProjection);
      const newest = state.completed.at(-1)?.session ?? 0;
      countTransactions(Math.max(newest, guardian.currentSession()));
      const page = listSessions(state, { from: Math.max(0, from - 1), limit: limit + 1 });
      let previous: SessionSummary | undefined = page[0] !== undefined && page[0].session < from ? page.shift() : undefined;
      return page.slice(0, limit).map((summary) => {
        const seconds = secondsBetween(previous?.completedAt ?? summary.startedAt, summary.completedAt);
        previous = summary;
        return {
          session: summary.session,
          itemCount: summary.itemCount,
          ...(floor !== undefined && summary.session >= floor ? { transactions: transactionsBySession.get(summary.session) ?? 0 } : {}),
          ...(summary.completedAt === undefined ? {} : { completedAt: summary.completedAt }),
          ...(seconds === undefined ? {} : { seconds }),
        };
      });
    },

    open() {
      const session = guardian.currentSession();
      const found = getSession(projections.state(sessionsProjection), session);
      return { session, itemCount: found?.status === 'pending' ? found.itemCount : 0, ...(found?.status === 'pending' ? { startedAt: found.startedAt } : {}) };
    },

    async detail(session) {
      const state = projections.state(sessionsProjection);
      const found = getSession(state, session);
      const events = await guardian.log.readStream(streams.session(session));
      if (found === undefined && events.length === 0) return undefined;
      let transactions = 0;
      let moduleItems = 0;
      const recorded = new Map<number, { signature: string; valid: boolean }>();
      let completed: { header: string; itemCount: number; signatures: Record<string, string>; source: 'local' | 'peer' } | undefined;
      for (const event of events) {
        if (isEvent(event, 'ItemAccepted')) {
          if (event.data.txid === undefined) moduleItems++;
          else transactions++;
        } else if (isEvent(event, 'SignatureRecorded')) recorded.set(event.data.peer, { signature: event.data.signature, valid: event.data.valid });
        else if (isEvent(event, 'SessionCompleted')) completed = event.data;
      }
      const inOutcome = new Set(Object.keys(completed?.signatures ?? {}).map(Number));
      const peers = [...new Set([...recorded.keys(), ...inOutcome])].sort((a, b) => a - b);
      const previous = session === 0 ? undefined : getSession(state, session - 1);
      const seconds = secondsBetween(previous?.completedAt ?? found?.startedAt, found?.completedAt);
      return {
        session,
        status: completed === undefined ? 'pending' : 'complete',
        ...(completed === undefined ? {} : { header: completed.header, source: completed.source }),
        itemCount: completed?.itemCount ?? transactions + moduleItems,
        transactions,
        moduleItems,
        ...(found === undefined ? {} : { startedAt: found.startedAt }),
        ...(found?.completedAt === undefined ? {} : { completedAt: found.completedAt }),
        ...(seconds === undefined ? {} : { seconds }),
        signatures: peers.map((peer) => {
          const own = recorded.get(peer);
          const signature = own?.signature ?? completed?.signatures[String(peer)];
          return { peer, ...(signature === undefined ? {} : { signature }), ...(own === undefined ? {} : { valid: own.valid }), inOutcome: inOutcome.has(peer) };
        }),
      };
    },
  };
}
