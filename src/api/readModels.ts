import type { z } from 'zod';
import type { GuardianHandle } from '../consensus/guardian.ts';
import { createModules } from '../domain/modules/consensusModules.ts';
import { auditHistory, auditProjection, currentAudit, type AuditSheetJson, type AuditState } from '../projections/audit.ts';
import { ledgerProjection } from '../projections/ledger.ts';
import { ledgerSummary, type LedgerSummary } from '../projections/ledgerSummary.ts';
import { listPeers, peersProjection } from '../projections/peers.ts';
import { pendingItemsOfSession, pendingItemsProjection } from '../projections/pendingItems.ts';
import { getSession, listSessions, sessionCount, sessionsProjection, sessionStatus } from '../projections/sessions.ts';
import { readSessionItems, readSignedSessionOutcome } from '../projections/signedOutcomes.ts';
import type * as s from './schemas.ts';

/**
 * The API's view of the guardian's read models: the projections' own query functions, shaped
 * into the wire schemas. Nothing here computes state; it only selects and renames.
 */

type BalanceSheet = z.output<typeof s.balanceSheet>;

export interface RawItem {
  index: number;
  peer: number;
  item: string;
  itemHash?: string;
}

export interface ReadModels {
  sessionCount(): number;
  sessions(from: number, limit: number): z.output<typeof s.sessionSummary>[];
  /** Whether sessions from..from+limit-1 are all complete: such a page never changes again. */
  sessionsPageComplete(from: number, limit: number): boolean;
  sessionStatus(session: number): Promise<z.output<typeof s.sessionStatusResponse>>;
  /** undefined until the session is complete. */
  signedSession(session: number): Promise<z.output<typeof s.signedSessionResponse> | undefined>;
  /** undefined for a session that has not started. */
  sessionItems(session: number, offset: number, limit: number): Promise<{ total?: number; items: RawItem[] } | undefined>;
  audit(): BalanceSheet;
  /** The balance sheet of an audit state other than the current one (an as-of answer's). */
  auditOf(state: AuditState): BalanceSheet;
  /** The ledger summary now (GET /v1/ledger). */
  ledger(): LedgerSummary;
  auditHistory(from: number, to: number): BalanceSheet[];
  peers(): z.output<typeof s.peersResponse>['peers'];
}

export function createReadModels(guardian: GuardianHandle): ReadModels {
  const { projections } = guardian;
  const sessions = () => projections.state(sessionsProjection);

  const summary = (found: { session: number; header?: string; itemCount: number; startedAt?: string; completedAt?: string }) => ({
    session: found.session,
    ...(found.header === undefined ? {} : { header: found.header }),
    itemCount: found.itemCount,
    ...(found.startedAt === undefined ? {} : { startedAt: found.startedAt }),
    ...(found.completedAt === undefined ? {} : { completedAt: found.completedAt }),
  });

  const moduleNames = new Map([...createModules()].map(([id, module]) => [id, module.name]));
  const sheet = (projected: AuditSheetJson): BalanceSheet => ({
    session: projected.session,
    itemCount: projected.itemCount,
    modules: projected.modules.map((line) => {
      const moduleName = moduleNames.get(line.module);
      return { module: line.module, ...(moduleName === undefined ? {} : { moduleName }), name: line.name, msat: line.msat };
    }),
    netAssets: projected.netAssets,
  });
  /** Before FederationConfigured there is no ledger yet: an empty sheet. */
  const emptySheet: BalanceSheet = { session: 0, itemCount: 0, modules: [], netAssets: '0' };

  return {
    sessionCount: () => sessionCount(sessions()),
    sessions: (from, limit) => listSessions(sessions(), { from, limit }).map(summary),
    sessionsPageComplete(from, limit) {
      const { completed } = sessions();
      // Sorted and distinct: the first and last of the page in place means every one between is there.
      return completed[from]?.session === from && completed[from + limit - 1]?.session === from + limit - 1;
    },

    async sessionStatus(session) {
      const state = sessions();
      const { status, itemCount } = sessionStatus(state, session);
      if (status === 'complete') {
        const found = getSession(state, session)!;
        return { session, status, itemCount: found.itemCount, ...(found.header === undefined ? {} : { header: found.header }) };
      }
      // The open session is pending from its start, before its first event is recorded.
      if (status === 'pending' || session === guardian.currentSession()) {
        const items = pendingItemsOfSession(projections.state(pendingItemsProjection), session).map(({ peer, item }) => ({ peer, item }));
        return { session, status: 'pending', itemCount: itemCount ?? items.length, items };
      }
      return { session, status: 'initial' };
    },

    async signedSession(session) {
      const signed = await readSignedSessionOutcome(guardian.log, session);
      if (signed === undefined) return undefined;
      return { session, header: signed.header, items: signed.items.map(({ peer, item }) => ({ peer, item })), signatures: signed.signatures };
    },

    async sessionItems(session, offset, limit) {
      const found = getSession(sessions(), session);
      if (found === undefined && session !== guardian.currentSession()) return undefined;
      const page = await readSessionItems(guardian.log, session, { offset, limit });
      return { total: found?.itemCount ?? 0, items: page.map(({ index, peer, item, itemHash }) => ({ index, peer, item, itemHash })) };
    },

    audit() {
      const current = currentAudit(projections.state(auditProjection));
      return current === undefined ? emptySheet : sheet(current);
    },
    auditOf(state) {
      const current = currentAudit(state);
      return current === undefined ? emptySheet : sheet(current);
    },
    ledger: () => ledgerSummary(projections.state(ledgerProjection)),
    auditHistory: (from, to) => auditHistory(projections.state(auditProjection), { from, to, limit: to - from + 1 }).map(sheet),

    peers() {
      const activity = new Map(listPeers(projections.state(peersProjection)).map((p) => [p.peer, p]));
      const links = new Map(guardian.links().map((l) => [l.peer, l]));
      return guardian.federation().peers.map(({ id }) => {
        const seen = activity.get(id);
        const link = links.get(id);
        return {
          id,
          connection: id === guardian.peer ? ('self' as const) : link === undefined ? ('unknown' as const) : link.connected ? ('connected' as const) : ('disconnected' as const),
          ...(seen?.lastContributedSession === undefined ? {} : { lastContributedSession: seen.lastContributedSession }),
          ...(seen?.lastSignedSession === undefined ? {} : { lastSignedSession: seen.lastSignedSession }),
          items: seen?.itemsAccepted ?? 0,
          ...(link === undefined
            ? {}
            : { link: { since: new Date(link.since).toISOString(), connects: link.connects, disconnects: link.disconnects, messagesIn: link.framesIn, messagesOut: link.framesOut, dropped: link.dropped } }),
        };
      });
    },
  };
}
