import type { MintState } from '../domain/modules/mint.ts';
import type { WalletState } from '../domain/modules/wallet.ts';
import type { LedgerProjectionState } from './ledger.ts';

/**
 * The ledger in a few figures (GET /v1/ledger, issue 18): deposits confirmed and claimed, unspent
 * notes, withdrawals. Read from the ledger projection's module states, now or as of a session.
 * Amounts are msat as decimal strings, as everywhere on the API.
 */

export interface LedgerSummary {
  /** The item the state ends with, absent before any. */
  lastItem?: { session: number; index: number };
  deposits: {
    /** Confirmed by a threshold of guardians, claimed or not. */
    confirmed: { count: number; msat: string };
    claimed: { count: number; msat: string };
  };
  notes: { unspent: number; msat: string };
  /** The ledger keeps the sum of withdrawals, not each one: no count. */
  withdrawals: { msat: string };
}

/** Module instances (DESIGN.md, "Modules"). */
const WALLET = 0;
const MINT = 1;

export function ledgerSummary(state: LedgerProjectionState): LedgerSummary {
  const wallet = state.ledger?.modules.get(WALLET) as WalletState | undefined;
  const mint = state.ledger?.modules.get(MINT) as MintState | undefined;
  let confirmed = 0;
  let confirmedMsat = 0n;
  let claimed = 0;
  for (const [, deposit] of wallet?.deposits.entries() ?? []) {
    confirmed += 1;
    confirmedMsat += deposit.amount;
    if (deposit.claimed) claimed += 1;
  }
  return {
    ...(state.lastItem === undefined ? {} : { lastItem: { ...state.lastItem } }),
    deposits: {
      confirmed: { count: confirmed, msat: confirmedMsat.toString() },
      claimed: { count: claimed, msat: (wallet?.claimedMsat ?? 0n).toString() },
    },
    notes: { unspent: mint?.notes.size ?? 0, msat: (mint?.outstandingMsat ?? 0n).toString() },
    withdrawals: { msat: (wallet?.withdrawnMsat ?? 0n).toString() },
  };
}
