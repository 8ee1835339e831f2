import { z } from 'zod';
import { auditSummaryFromJson, auditSummaryJsonSchema, auditSummaryToJson, type AuditSummary, type AuditSummaryJson } from '../domain/audit.ts';
import { isEvent } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { createHash } from 'node:crypto';
import { evolveLedger, evolveLedgerPage, initialLedgerProjectionState, inPlaceLedgerState, type LedgerProjectionState } from './ledgerFold.ts';
import { ledgerSnapshotText, ledgerStateFromSnapshot, ledgerStateSnapshot } from './ledgerSnapshot.ts';
import { fastCanonicalJson, type Projection } from './projection.ts';

/**
 * `audit`: the balance sheet after the latest item, and one balance sheet per completed session
 * (its history). The per-item sheets are not kept: a session of thousands of items would otherwise
 * grow the state (and every snapshot) without bound; the sheet of any item can be recomputed by
 * replaying its session. History grows by one small entry per session.
 *
 * The module figures need the ledger (a spent note's amount is in the mint's state, not in the
 * event), so this projection folds its own copy of the ledger with `evolveLedger`, which shares
 * the work with the `ledger` projection when both run in one host.
 */

export interface AuditSheet {
  session: number;
  /** Items of the session (history) or the index of the latest item + 1 in its session (current). */
  itemCount: number;
  audit: AuditSummary;
}

export interface AuditState {
  readonly ledger: LedgerProjectionState;
  /** Completed sessions, ascending. */
  readonly history: readonly AuditSheet[];
}

export const auditProjection: Projection<AuditState> = {
  name: 'audit',
  version: 1,
  initial: { ledger: initialLedgerProjectionState, history: [] },

  evolve(state, event: RecordedEvent) {
    if (isEvent(event, 'SessionCompleted')) {
      const { session, itemCount } = event.data;
      const last = state.history.at(-1);
      if (last !== undefined && last.session >= session) return state;
      // Items of session i+1 are only accepted after SessionCompleted(i), so the ledger is exactly at the end of `session`.
      return { ledger: state.ledger, history: [...state.history, { session, itemCount, audit: state.ledger.audit }] };
    }
    const ledger = evolveLedger(state.ledger, event);
    return ledger === state.ledger ? state : { ledger, history: state.history };
  },

  evolveBatch(state, events) {
    // The ledger's page fold (shared with the `ledger` projection) also gives the sheet at each SessionCompleted.
    const { to, sessionAudits } = evolveLedgerPage(state.ledger, events);
    let history = state.history;
    let completed = 0;
    for (const event of events) {
      if (!isEvent(event, 'SessionCompleted')) continue;
      const audit = sessionAudits[completed++]!;
      const { session, itemCount } = event.data;
      const last = history.at(-1);
      if (last !== undefined && last.session >= session) continue;
      history = [...history, { session, itemCount, audit }];
    }
    return to === state.ledger && history === state.history ? state : { ledger: to, history };
  },

  // Keys in sorted order at every level: the stored text is then canonical (see auditSummaryToJson).
  toSnapshot: (state) => ({
    history: historyJson(state.history),
    ledger: ledgerStateSnapshot(state.ledger),
  }),
  stateHash(state) {
    // The canonical text of toSnapshot(state), `{"history":…,"ledger":…}`, with the ledger's part written once for both projections.
    const hash = createHash('sha256');
    hash.update(`{"history":${fastCanonicalJson(historyJson(state.history))},"ledger":`);
    ledgerSnapshotText(state.ledger).writeTo(hash);
    hash.update('}');
    return hash.digest('hex');
  },
  fromSnapshot(json) {
    const parsed = snapshotSchema.parse(json);
    return {
      ledger: ledgerStateFromSnapshot(parsed.ledger),
      history: parsed.history.map((h) => ({ session: h.session, itemCount: h.itemCount, audit: auditSummaryFromJson(h.audit) })),
    };
  },
  // Over a ledger folded in place: one fold with `ledger`'s newestOnly (same initial state, so the page folds are shared).
  newestOnly: () => ({ ...auditProjection, initial: { ledger: inPlaceLedgerState, history: [] } }),
};

function historyJson(history: readonly AuditSheet[]) {
  return history.map((h) => ({ audit: auditSummaryToJson(h.audit), itemCount: h.itemCount, session: h.session }));
}

const count = z.number().int().min(0);
const snapshotSchema = z.object({
  ledger: z.unknown(),
  history: z.array(z.object({ session: count, itemCount: count, audit: auditSummaryJsonSchema })),
});

/** GET /v1/audit: msat as decimal strings. `session` is the session of the latest item (or the latest completed session, if later). */
export interface AuditSheetJson extends AuditSummaryJson {
  session: number;
  itemCount: number;
}

/** The balance sheet after the latest accepted item; undefined before the federation is configured. */
export function currentAudit(state: AuditState): AuditSheetJson | undefined {
  if (state.ledger.config === undefined) return undefined;
  const last = state.history.at(-1);
  const item = state.ledger.lastItem;
  const summary = auditSummaryToJson(state.ledger.audit);
  if (item !== undefined && (last === undefined || item.session > last.session)) return { session: item.session, itemCount: item.index + 1, ...summary };
  if (last !== undefined) return { session: last.session, itemCount: last.itemCount, ...summary };
  return { session: 0, itemCount: 0, ...summary };
}

/** GET /v1/audit/history: one sheet per completed session with from <= session <= to. */
export function auditHistory(state: AuditState, { from = 0, to = Number.MAX_SAFE_INTEGER, limit = 1000 }: { from?: number; to?: number; limit?: number } = {}): AuditSheetJson[] {
  const out: AuditSheetJson[] = [];
  for (const h of state.history) {
    if (h.session < from) continue;
    if (h.session > to || out.length >= limit) break;
    out.push({ session: h.session, itemCount: h.itemCount, ...auditSummaryToJson(h.audit) });
  }
  return out;
}
