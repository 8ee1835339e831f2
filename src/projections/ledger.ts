import type { AuditSummary } from '../domain/audit.ts';
import type { LedgerState } from '../domain/ledger.ts';
import { evolveLedger, evolveLedgerPage, initialLedgerProjectionState, inPlaceLedgerState, type LedgerConfig, type LedgerProjectionState } from './ledgerFold.ts';
import { ledgerSnapshotText, ledgerStateFromSnapshot, ledgerStateSnapshot } from './ledgerSnapshot.ts';
import type { Projection } from './projection.ts';

/**
 * `ledger`: the domain ledger state after every accepted item (its fold: ledgerFold.ts; its
 * snapshot: ledgerSnapshot.ts). The engine seeds its write model from it (`ledgerSeed`); the
 * `audit` projection folds the same way.
 */

export const ledgerProjection: Projection<LedgerProjectionState> = {
  name: 'ledger',
  version: 1,
  initial: initialLedgerProjectionState,
  evolve: evolveLedger,
  evolveBatch: (state, events) => evolveLedgerPage(state, events).to,
  toSnapshot: ledgerStateSnapshot,
  fromSnapshot: ledgerStateFromSnapshot,
  stateHash: (state) => ledgerSnapshotText(state).digest(),
  newestOnly: () => ({ ...ledgerProjection, initial: inPlaceLedgerState }),
};

/**
 * What the engine needs to resume validating: the ledger state and the configuration it was built
 * under. The engine builds its own rules (with real signature verification) for new items.
 */
export function ledgerSeed(state: LedgerProjectionState): { ledger: LedgerState; config: LedgerConfig; audit: AuditSummary; lastItem?: { session: number; index: number } } | undefined {
  if (state.config === undefined || state.ledger === undefined) return undefined;
  return { ledger: state.ledger, config: state.config, audit: state.audit, ...(state.lastItem === undefined ? {} : { lastItem: state.lastItem }) };
}

// The names this module exported before its fold, item framing and snapshot had files of their own.
export { evolveLedger, evolveLedgerPage, initialLedgerProjectionState, inPlaceLedgerState, LedgerDivergenceError, type LedgerConfig, type LedgerPage, type LedgerProjectionState } from './ledgerFold.ts';
export { frameAcceptedItem } from './ledgerItemFraming.ts';
export { ledgerSnapshotText, ledgerStateFromSnapshot, ledgerStateSnapshot, type SnapshotText } from './ledgerSnapshot.ts';
