import { auditProjection } from './audit.ts';
import { ledgerProjection } from './ledger.ts';
import { peersProjection } from './peers.ts';
import { pendingItemsProjection } from './pendingItems.ts';
import type { AnyProjection } from './projection.ts';
import { sessionsProjection } from './sessions.ts';
import { transactionsProjection } from './transactions.ts';

/** The projections every guardian runs (DESIGN.md, "Projections"). `ledger` first: `audit` reuses its steps. */
export function standardProjections(): AnyProjection[] {
  return [ledgerProjection, pendingItemsProjection, sessionsProjection, transactionsProjection, auditProjection, peersProjection];
}
