import { z } from 'zod';
import type { RecordedEvent } from '../streams/eventLog.ts';
import type { JsonValue, Projection } from './projection.ts';

/**
 * `sessions`: one summary per session (header, item count, start and completion times, status).
 * Completed sessions are kept in a list ordered by session (one small entry per session, the only
 * growth); sessions with events but no SessionCompleted yet are "open" (normally just one).
 */

export interface SessionSummary {
  session: number;
  /** 40-byte header hex, once complete. */
  header?: string;
  itemCount: number;
  /** recordedAt of the first event seen for this session. */
  startedAt: string;
  completedAt?: string;
  status: 'pending' | 'complete';
}

export interface SessionsState {
  /** Completed sessions, ascending by session. */
  readonly completed: readonly SessionSummary[];
  /** Sessions with events but not complete yet, ascending by session. */
  readonly open: readonly SessionSummary[];
}

const SESSION_EVENTS = new Set(['UnitOrdered', 'ItemAccepted', 'ItemRejected', 'SignatureRecorded', 'UnitSaved', 'SessionCompleted']);

export const sessionsProjection: Projection<SessionsState> = {
  name: 'sessions',
  version: 1,
  initial: { completed: [], open: [] },

  evolve(state, event: RecordedEvent) {
    if (!SESSION_EVENTS.has(event.type)) return state;
    const data = event.data as { session: number; itemCount?: number; header?: string };
    const session = data.session;
    if (findCompleted(state, session) !== undefined) return state;
    const current = state.open.find((s) => s.session === session) ?? { session, itemCount: 0, startedAt: event.metadata.recordedAt, status: 'pending' as const };
    if (event.type === 'ItemAccepted') {
      const counted = { ...current, itemCount: current.itemCount + 1 };
      // The common case: one open session, the one this item belongs to.
      const open = state.open.length === 1 && state.open[0]!.session === session ? [counted] : replaceOpen(state.open, counted);
      return { completed: state.completed, open };
    }
    if (event.type === 'SessionCompleted') {
      const done: SessionSummary = { ...current, header: data.header!, itemCount: data.itemCount!, completedAt: event.metadata.recordedAt, status: 'complete' };
      return { completed: insertSorted(state.completed, done), open: state.open.filter((s) => s.session !== session) };
    }
    return current === state.open.find((s) => s.session === session) ? state : { completed: state.completed, open: replaceOpen(state.open, current) };
  },

  evolveBatch(state, events) {
    // Copies of the lists and of the open summaries, made on first change and then updated in place.
    let completed = state.completed;
    let completedOwned = false;
    let open = state.open as SessionSummary[];
    let openOwned = false;
    // The summary the last item went to: in a page, nearly every event is an item of that session.
    let counting: SessionSummary | undefined;
    for (const event of events) {
      const type = event.type;
      if (type === 'ItemAccepted' && counting !== undefined && (event.data as { session: number }).session === counting.session) {
        counting.itemCount++;
        continue;
      }
      if (!SESSION_EVENTS.has(type)) continue;
      const data = event.data as { session: number; itemCount?: number; header?: string };
      const session = data.session;
      const newestCompleted = completed.at(-1);
      if (newestCompleted !== undefined && session <= newestCompleted.session && findCompleted({ completed, open }, session) !== undefined) continue;
      let current = open.find((s) => s.session === session);
      if (current === undefined || !openOwned) {
        if (!openOwned) {
          open = open.map((s) => ({ ...s }));
          openOwned = true;
          current = open.find((s) => s.session === session);
        }
        if (current === undefined) {
          current = { session, itemCount: 0, startedAt: event.metadata.recordedAt, status: 'pending' };
          const at = open.findIndex((s) => s.session > session);
          open.splice(at < 0 ? open.length : at, 0, current);
        }
      }
      if (type === 'ItemAccepted') {
        current.itemCount++;
        counting = current;
      } else if (type === 'SessionCompleted') {
        const done: SessionSummary = { ...current, header: data.header!, itemCount: data.itemCount!, completedAt: event.metadata.recordedAt, status: 'complete' };
        open.splice(open.indexOf(current), 1);
        if (counting === current) counting = undefined;
        if (!completedOwned) {
          completed = completed.slice();
          completedOwned = true;
        }
        const list = completed as SessionSummary[];
        const at = list.findLastIndex((s) => s.session < session) + 1;
        list.splice(at, 0, done);
      }
    }
    if (!openOwned && !completedOwned) return state;
    return { completed, open };
  },

  toSnapshot: (state) => ({ completed: state.completed.map(summaryJson), open: state.open.map(summaryJson) }),
  fromSnapshot: (json) => sessionsSnapshotSchema.parse(json),
};

const summarySchema = z.object({
  session: z.number().int().min(0),
  header: z.string().optional(),
  itemCount: z.number().int().min(0),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  status: z.enum(['pending', 'complete']),
});
const sessionsSnapshotSchema = z.object({ completed: z.array(summarySchema), open: z.array(summarySchema) });

function summaryJson(s: SessionSummary): JsonValue {
  return {
    session: s.session,
    ...(s.header === undefined ? {} : { header: s.header }),
    itemCount: s.itemCount,
    startedAt: s.startedAt,
    ...(s.completedAt === undefined ? {} : { completedAt: s.completedAt }),
    status: s.status,
  };
}

function replaceOpen(open: readonly SessionSummary[], summary: SessionSummary): SessionSummary[] {
  const rest = open.filter((s) => s.session !== summary.session);
  return insertSorted(rest, summary);
}

function insertSorted(list: readonly SessionSummary[], summary: SessionSummary): SessionSummary[] {
  // Sessions complete in order, so this is an append in practice; the search keeps it correct regardless.
  const last = list.at(-1);
  if (last === undefined || last.session < summary.session) return [...list, summary];
  const at = list.findIndex((s) => s.session > summary.session);
  return [...list.slice(0, at), summary, ...list.slice(at)];
}

function findCompleted(state: SessionsState, session: number): SessionSummary | undefined {
  const list = state.completed;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid]!;
    if (s.session === session) return s;
    if (s.session < session) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

// Queries (GET /v1/sessions...).

/** Finished sessions (GET /v1/sessions/count). */
export function sessionCount(state: SessionsState): number {
  return state.completed.length;
}

/** Completed sessions from session `from` (inclusive), at most `limit`, ascending. */
export function listSessions(state: SessionsState, { from = 0, limit = 100 }: { from?: number; limit?: number } = {}): SessionSummary[] {
  const start = state.completed.findIndex((s) => s.session >= from);
  if (start < 0) return [];
  return state.completed.slice(start, start + Math.max(0, limit));
}

export function getSession(state: SessionsState, session: number): SessionSummary | undefined {
  return findCompleted(state, session) ?? state.open.find((s) => s.session === session);
}

/** GET /v1/sessions/:i/status: initial (nothing seen), pending (events, not sealed), complete. */
export function sessionStatus(state: SessionsState, session: number): { status: 'initial' | 'pending' | 'complete'; itemCount?: number } {
  const found = getSession(state, session);
  if (found === undefined) return { status: 'initial' };
  return { status: found.status, itemCount: found.itemCount };
}
