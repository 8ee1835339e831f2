import { auditProjection } from '../projections/audit.ts';
import { ledgerProjection } from '../projections/ledger.ts';
import { ledgerSummary } from '../projections/ledgerSummary.ts';
import { lookupTransaction, transactionsProjection } from '../projections/transactions.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { createAsOfQueries } from './asOfQueries.ts';
import type { ReadModels } from './readModels.ts';
import { defineRoute, json, type AnyRoute, type Reply } from './route.ts';
import * as s from './schemas.ts';

/**
 * The `?atSession=N` answers (issue 18): GET /v1/audit, /v1/transactions/:txid and /v1/ledger as
 * the projections stood at the end of session N, each saying which session it is as of, the kept
 * snapshot it started from and the events it folded.
 */

export interface AsOfAnswers {
  audit(session: number): Promise<Reply>;
  /** The transaction's status then: accepted, rejected or unknown (the log records nothing pending). */
  transaction(txid: string, session: number): Promise<Reply>;
  ledger(session: number): Promise<Reply>;
}

export function asOfAnswers(log: EventLog, reads: ReadModels): AsOfAnswers {
  // Sessions complete in order from 0: the count of completed ones names the newest.
  const queries = createAsOfQueries(log, () => (reads.sessionCount() === 0 ? undefined : reads.sessionCount() - 1));
  return {
    async audit(session) {
      const { state, asOf } = await queries.at(auditProjection, session);
      return json(200, { ...reads.auditOf(state), asOf });
    },
    async transaction(txid, session) {
      const { state, asOf } = await queries.at(transactionsProjection, session);
      return json(200, { txid, ...lookupTransaction(state, txid), asOf });
    },
    async ledger(session) {
      const { state, asOf } = await queries.at(ledgerProjection, session);
      return json(200, { ...ledgerSummary(state), asOf });
    },
  };
}

const notComplete = { description: 'the session has not completed (the reason names the newest that has)', schema: s.errorBody };
const badRequest = { description: 'invalid input', schema: s.errorBody };

/** GET /v1/ledger: the ledger summary now, or as of a completed session. */
export function ledgerRoute(reads: ReadModels, answers: AsOfAnswers): AnyRoute {
  return defineRoute({
    method: 'get',
    path: '/v1/ledger',
    tag: 'analyst',
    summary: 'The ledger in figures: deposits confirmed and claimed, unspent notes and their total, withdrawals (msat as decimal strings); now, or as of the end of ?atSession=',
    query: s.ledgerQuery,
    responses: { 200: { description: 'the ledger summary', schema: s.ledgerResponse }, 400: badRequest, 404: notComplete },
    handle: ({ query }) => (query.atSession === undefined ? json(200, reads.ledger()) : answers.ledger(query.atSession)),
  });
}

export const asOfResponses = { 404: notComplete };
