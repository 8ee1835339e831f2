import { setMaxListeners } from 'node:events';
import type { z } from 'zod';
import type { GuardianHandle, SubmitOutcome, TxStatus } from '../consensus/guardian.ts';
import { ApiError } from './apiError.ts';
import { asOfAnswers, asOfResponses, ledgerRoute } from './asOfRoutes.ts';
import type { ItemViewer } from './itemView.ts';
import { balanceSheetsCsv } from './balanceSheetCsv.ts';
import { armWait } from './longPoll.ts';
import type { ReadModels } from './readModels.ts';
import { createReplyCache } from './replyCache.ts';
import { defineRoute, json, type AnyRoute, type Reply } from './route.ts';
import * as s from './schemas.ts';

/**
 * The endpoint table (DESIGN.md, "REST API"), for a guardian of any size; the peer-to-peer parts
 * of a larger federation (peer connections) read as "unknown" until the network exists.
 */

export interface RouteOptions {
  /** Upper bound on any `?wait=`; longer waits are shortened to it. */
  maxWaitMs: number;
  /** Largest page of sessions or items (and audit sheets) one request may ask for. */
  maxPage: number;
}

export interface RouteDependencies {
  guardian: GuardianHandle;
  reads: ReadModels;
  items: ItemViewer;
  metricsText(): Promise<{ contentType: string; text: string }>;
  openApi(): unknown;
  dashboardHtml: string;
}

/** Transactions of a batch dry-run per turn of the event loop (about 1-2 ms of work). */
const SUBMIT_SLICE = 8;

const error = (description: string) => ({ description, schema: s.errorBody });
const badRequest = error('invalid input');
const retryAfter = { 'Retry-After': 'seconds to wait before retrying' };

/** The answer to a submission, as DESIGN.md maps it: 202 queued, 200 already accepted, 400, 503. */
function submitReply(outcome: SubmitOutcome, queued: (txid: string) => unknown): Reply {
  switch (outcome.kind) {
    case 'queued':
      return json(202, queued(outcome.txid));
    case 'alreadyAccepted':
      return json(200, queued(outcome.txid));
    case 'invalid':
      throw new ApiError(400, 'invalid_transaction', outcome.reason);
    case 'queueFull':
      throw new ApiError(503, 'queue_full', 'the submission queue is full; retry later', { 'Retry-After': String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))) });
  }
}

type SubmitResult = z.output<typeof s.batchResult>;

export function apiRoutes(deps: RouteDependencies, options: RouteOptions): AnyRoute[] {
  const { guardian, reads } = deps;
  const waitOf = (wait: number | undefined) => Math.min(wait ?? 0, options.maxWaitMs);

  /** A submission's outcome, followed (up to `waitMs`) to accepted or rejected once it was queued. */
  const settle = async (outcome: SubmitOutcome, waitMs: number, signal: AbortSignal): Promise<SubmitResult> => {
    switch (outcome.kind) {
      case 'invalid':
        return { ...(outcome.txid === undefined ? {} : { txid: outcome.txid }), status: 'invalid', reason: outcome.reason };
      case 'queueFull':
        return { status: 'queueFull', retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryAfterSeconds)) };
      case 'alreadyAccepted': {
        const known = await guardian.transactionStatus(outcome.txid, 0, signal);
        if (known.status === 'unknown' || known.status === 'pending') return { txid: outcome.txid, status: 'accepted' };
        return { ...known, status: known.status };
      }
      case 'queued':
        return queuedResult(outcome.txid, await guardian.transactionStatus(outcome.txid, waitMs, signal));
    }
  };
  /** A queued submission's result from its status after the wait. */
  const queuedResult = (txid: string, known: TxStatus): SubmitResult =>
    // It was queued, so "unknown" (e.g. the guardian is stopping) still means "not decided yet".
    known.status === 'unknown' || known.status === 'pending' ? { txid, status: 'pending' } : { ...known, status: known.status };
  const defaultPage = Math.min(100, options.maxPage);
  const sessionsReplies = createReplyCache(() => guardian.projections.position('sessions'));
  const auditReplies = createReplyCache(() => guardian.projections.position('audit'));
  const asOf = asOfAnswers(guardian.log, reads);
  const pageOf = (limit: number | undefined) => Math.min(limit ?? defaultPage, options.maxPage);
  /** A page of sessions that are all complete never changes: its answer is kept across folds. */
  const sessionsVersion = (from: number, limit: number) => (reads.sessionsPageComplete(from, limit) ? 'complete' : sessionsReplies.version());

  return [
    defineRoute({
      method: 'get',
      path: '/v1/federation',
      tag: 'guardian',
      summary: 'The federation: peers, threshold, consensus hash',
      responses: { 200: { description: 'the federation', schema: s.federationResponse } },
      handle: () => json(200, guardian.federation()),
    }),

    defineRoute({
      method: 'post',
      path: '/v1/transactions',
      tag: 'guardian',
      summary:
        'Submit an encoded transaction; it is dry-run against the current state before being queued. With ?wait= ms the answer waits for the outcome: 200 with status accepted or rejected, or 202 with status pending when the wait ran out',
      query: s.waitQuery,
      body: s.submitTransactionBody,
      responses: {
        202: { description: 'queued for ordering (with ?wait=: still pending when the wait ran out)', schema: s.submittedResponse },
        200: { description: 'already accepted (with ?wait=: accepted or rejected within the wait)', schema: s.submittedResponse },
        400: error('malformed or invalid transaction'),
        503: { ...error('submission queue full'), headers: retryAfter },
      },
      handle: async ({ query, body, signal }) => {
        const outcome = await guardian.submitTransaction(body.tx);
        // Without ?wait the answer is exactly the classic one: { txid }.
        if (query.wait === undefined) return submitReply(outcome, (txid) => ({ txid }));
        const settled = await settle(outcome, waitOf(query.wait), signal);
        if (settled.status === 'invalid' || settled.status === 'queueFull') return submitReply(outcome, (txid) => ({ txid }));
        return json(settled.status === 'pending' ? 202 : 200, settled);
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/transactions/batch',
      tag: 'guardian',
      summary: `Submit up to ${s.MAX_BATCH_TRANSACTIONS} encoded transactions at once, each handled as by POST /v1/transactions; with ?wait= ms the answer waits (once, for all of them) for their outcomes`,
      query: s.waitQuery,
      body: s.submitBatchBody,
      responses: {
        200: { description: 'one result per transaction, in order', schema: s.submitBatchResponse },
        400: badRequest,
      },
      handle: async ({ query, body, signal }) => {
        const wait = waitOf(query.wait);
        // Each waiting transaction listens for the client going away: a bounded number, not a leak.
        setMaxListeners(s.MAX_BATCH_TRANSACTIONS + 8, signal);
        // Each submission's dry run is synchronous work; a batch does it in slices, each after a yield,
        // so that the requests that arrived with it (a query, another batch) are not held behind all
        // of it. Slices still share one signature-verification batch per turn of the event loop.
        const submitted: Promise<SubmitOutcome>[] = [];
        for (let start = 0; start < body.txs.length; start += SUBMIT_SLICE) {
          await new Promise((resolve) => setImmediate(resolve));
          if (signal.aborted) break;
          for (const tx of body.txs.slice(start, start + SUBMIT_SLICE)) submitted.push(guardian.submitTransaction(tx));
        }
        const outcomes = await Promise.all(submitted);
        // The queued ones are waited for together (one timer and one abort listener per request).
        const queued = outcomes.flatMap((outcome) => (outcome.kind === 'queued' ? [outcome.txid] : []));
        const statuses = await guardian.transactionStatuses(queued, wait, signal);
        let next = 0;
        const results = await Promise.all(outcomes.map((outcome) => (outcome.kind === 'queued' ? queuedResult(outcome.txid, statuses[next++]!) : settle(outcome, 0, signal))));
        return json(200, { results });
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/transactions/:txid',
      tag: 'guardian',
      summary: 'A transaction status (pending, accepted, rejected or unknown), long-polling up to ?wait= ms; with ?atSession= its status at the end of that session',
      params: s.txidParams,
      query: s.txStatusQuery,
      responses: { 200: { description: 'the status', schema: s.txStatusResponse }, 400: badRequest, ...asOfResponses },
      handle: async ({ params, query, signal }) =>
        query.atSession === undefined ? json(200, await guardian.transactionStatus(params.txid, waitOf(query.wait), signal)) : asOf.transaction(params.txid, query.atSession),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/count',
      tag: 'analyst',
      summary: 'The number of completed sessions',
      responses: { 200: { description: 'the count', schema: s.countResponse } },
      handle: () => json(200, { count: reads.sessionCount() }),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions',
      tag: 'analyst',
      cached: { version: (query: z.output<typeof s.sessionsQuery>) => sessionsVersion(query.from ?? 0, pageOf(query.limit)) },
      summary: `Completed sessions, paged (?from=, ?limit= default ${defaultPage}, at most ${options.maxPage})`,
      query: s.sessionsQuery,
      responses: { 200: { description: 'a page of sessions', schema: s.sessionsResponse }, 400: badRequest },
      handle: ({ query }) => {
        const from = query.from ?? 0;
        const limit = pageOf(query.limit);
        return sessionsReplies.reply(`${from}:${limit}`, () => ({ from, limit, sessions: reads.sessions(from, limit) }), sessionsVersion(from, limit));
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/:i/status',
      tag: 'guardian',
      summary: 'Whether session i is initial (not started), pending (open, with its items so far) or complete',
      params: s.sessionParams,
      responses: { 200: { description: 'the status', schema: s.sessionStatusResponse }, 400: badRequest },
      handle: async ({ params }) => json(200, await reads.sessionStatus(params.i)),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/:i/signed',
      tag: 'guardian',
      summary: 'The signed outcome of session i (items and signatures); 404 until complete, long-polling up to ?wait= ms',
      params: s.sessionParams,
      query: s.waitQuery,
      responses: { 200: { description: 'the signed session outcome', schema: s.signedSessionResponse }, 404: error('not complete (yet)'), 400: badRequest },
      handle: async ({ params, query, signal }) => {
        const armed = armWait(guardian.sessionCompleted$, (completed) => completed.session >= params.i);
        try {
          let signed = await reads.signedSession(params.i);
          if (signed === undefined && (await armed.wait(waitOf(query.wait), signal))) signed = await reads.signedSession(params.i);
          if (signed === undefined) throw new ApiError(404, 'not_found', `session ${params.i} is not complete`);
          return json(200, signed);
        } finally {
          armed.dispose();
        }
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/sessions/:i/items',
      tag: 'analyst',
      summary: `The accepted items of session i, decoded (?offset=, ?limit= default ${defaultPage}, at most ${options.maxPage})`,
      params: s.sessionParams,
      query: s.itemsQuery,
      responses: { 200: { description: 'a page of decoded items', schema: s.itemsResponse }, 404: error('session not started'), 400: badRequest },
      handle: async ({ params, query }) => {
        const offset = query.offset ?? 0;
        const limit = pageOf(query.limit);
        const page = await reads.sessionItems(params.i, offset, limit);
        if (page === undefined) throw new ApiError(404, 'not_found', `session ${params.i} has not started`);
        return json(200, { session: params.i, offset, limit, ...(page.total === undefined ? {} : { total: page.total }), items: page.items.map((item) => deps.items.render(item)) });
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/audit',
      tag: 'analyst',
      // An ?atSession= answer is computed apart (asOfQueries.ts keeps those), never kept on the front.
      cached: { version: () => auditReplies.version(), keeps: (query: z.output<typeof s.auditQuery>) => query.atSession === undefined },
      summary: 'The balance sheet now, or as of the end of ?atSession=: per module line and net assets (msat as decimal strings)',
      query: s.auditQuery,
      responses: { 200: { description: 'the balance sheet', schema: s.auditResponse }, 400: badRequest, ...asOfResponses },
      handle: ({ query }) => (query.atSession === undefined ? auditReplies.reply('', () => reads.audit()) : asOf.audit(query.atSession)),
    }),

    ledgerRoute(reads, asOf),

    defineRoute({
      method: 'get',
      path: '/v1/audit/history',
      tag: 'analyst',
      summary: `One balance sheet per completed session, ?from= to ?to= inclusive (at most ${options.maxPage}; a cut range answers Link: <...>; rel="next"); as CSV with Accept: text/csv or ?format=csv`,
      query: s.historyQuery,
      produces: ['application/json', 'text/csv'],
      responses: { 200: { description: 'balance sheets', schema: s.auditHistoryResponse, alternatives: { 'text/csv': s.auditHistoryCsv } }, 400: badRequest },
      handle: ({ query, accepts }) => {
        const from = query.from ?? 0;
        if (query.to !== undefined && query.to < from) throw new ApiError(400, 'invalid_request', `query.to: ${query.to} is before from ${from}`);
        const asked = query.to ?? Number.MAX_SAFE_INTEGER;
        const to = Math.min(asked, from + options.maxPage - 1);
        // One sheet past the page tells whether the range was cut before its last completed session.
        const read = reads.auditHistory(from, Math.min(asked, to + 1));
        const sheets = read.length > to - from + 1 ? read.slice(0, -1) : read;
        // A cut range says where the rest starts (RFC 8288), in either format.
        const next = sheets.length < read.length ? { Link: `</v1/audit/history?${new URLSearchParams({ from: String(to + 1), ...(query.to === undefined ? {} : { to: String(query.to) }), ...(query.format === undefined ? {} : { format: query.format }) })}>; rel="next"` } : undefined;
        if ((query.format ?? (accepts === 'text/csv' ? 'csv' : 'json')) === 'json') return json(200, { sheets }, next);
        return { status: 200, body: balanceSheetsCsv(sheets), headers: { 'Content-Type': 'text/csv; charset=utf-8; header=present', ...next } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/peers',
      tag: 'analyst',
      summary: 'Per peer: connection, last contributed session, items contributed',
      responses: { 200: { description: 'the peers', schema: s.peersResponse } },
      handle: () => json(200, { peers: reads.peers() }),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/projections',
      tag: 'operator',
      summary: 'Per projection: version, position, lag, newest checkpoint',
      responses: { 200: { description: 'the projections', schema: s.projectionsResponse } },
      handle: () => json(200, { projections: guardian.projections.status() }),
    }),

    defineRoute({
      method: 'post',
      path: '/v1/admin/deposits',
      tag: 'admin',
      admin: true,
      summary: 'Record a deposit this guardian observed; it is proposed as a DepositObserved item',
      body: s.depositBody,
      responses: {
        202: { description: 'queued for ordering', schema: s.depositResponse },
        200: { description: 'already accepted', schema: s.depositResponse },
        400: error('invalid deposit'),
        401: error('missing or wrong bearer token'),
        503: { ...error('submission queue full'), headers: retryAfter },
      },
      handle: async ({ body }) => {
        const outcome = await guardian.observeDeposit({ depositId: body.depositId, amount: body.amount, recipient: body.recipient });
        return submitReply(outcome, (itemHash) => ({ depositId: body.depositId, status: outcome.kind === 'queued' ? 'queued' : 'alreadyAccepted', itemHash }));
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/admin/shutdown',
      tag: 'admin',
      admin: true,
      summary: 'Schedule a shutdown at the end of a session',
      body: s.shutdownBody,
      responses: {
        202: { description: 'scheduled', schema: s.shutdownResponse },
        400: error('the session is already complete'),
        401: error('missing or wrong bearer token'),
      },
      handle: ({ body }) => {
        const current = guardian.currentSession();
        if (body.afterSession < current) throw new ApiError(400, 'invalid_request', `session ${body.afterSession} is already complete (the open session is ${current})`);
        guardian.scheduleShutdown(body.afterSession);
        return json(202, { afterSession: body.afterSession });
      },
    }),

    defineRoute({
      method: 'get',
      path: '/metrics',
      tag: 'operator',
      summary: 'Prometheus metrics: consensus, process and HTTP',
      responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
      handle: async () => {
        const { contentType, text } = await deps.metricsText();
        return { status: 200, body: text, headers: { 'Content-Type': contentType } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/openapi.json',
      tag: 'operator',
      summary: 'This API as OpenAPI 3.1, generated from the schemas it validates with',
      responses: { 200: { description: 'the OpenAPI document' } },
      handle: () => json(200, deps.openApi()),
    }),

    defineRoute({
      method: 'get',
      path: '/',
      tag: 'operator',
      summary: 'The dashboard: current session, sessions, audit, projections',
      responses: { 200: { description: 'an HTML page', contentType: 'text/html' } },
      handle: () => ({ status: 200, body: deps.dashboardHtml, headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    }),
  ];
}
