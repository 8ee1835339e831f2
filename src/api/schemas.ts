import { z } from 'zod';

/**
 * The REST API's wire schemas (DESIGN.md, "REST API"). Requests are validated with these and
 * /openapi.json is generated from these same objects, so the spec cannot drift from what the
 * server accepts. Amounts are u64 msat and travel as decimal strings: a JSON number cannot hold
 * every u64 exactly.
 */

const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** Session and item indexes fit a JS number exactly; anything longer is refused before parsing. */
const MAX_INDEX_DIGITS = 15;

// ---------------------------------------------------------------------------------------------
// Building blocks

const lowerHex = (bytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${what}: ${bytes} bytes as ${bytes * 2} hex characters`)
    .transform((s) => s.toLowerCase());

export const hash32 = lowerHex(32, 'a 32-byte hash');
export const xOnlyKey = lowerHex(32, 'a 32-byte x-only public key');

/** A path or query integer: decimal digits only, so "1e3", "0x10", " 1" and "-1" are all refused. */
const decimalIndex = (what: string) =>
  z
    .string()
    .regex(new RegExp(`^(?:0|[1-9][0-9]{0,${MAX_INDEX_DIGITS - 1}})$`), `expected ${what}: a non-negative decimal integer`)
    .transform(Number)
    .pipe(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER));

/** A page size: a decimal integer of at least 1 (a page of none would be answered as if it were one). */
const pageSize = () =>
  z
    .string()
    .regex(new RegExp(`^[0-9]{1,${MAX_INDEX_DIGITS}}$`), 'expected a page size: a positive decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'a page size must be at least 1').max(Number.MAX_SAFE_INTEGER));

/**
 * A query object that refuses keys it does not name. Express's query parser keeps `from[]=1` as a
 * key "from[]" (and an extended parser would make it an array or object); ignored, it read as the
 * default `from=0`. Repeated keys arrive as arrays and fail their string schema.
 */
const query = <Shape extends z.ZodRawShape>(shape: Shape) => z.strictObject(shape);

/** An unsigned u64 in msat: a decimal string, or a JSON integer for convenience when it is small. */
export const msatInput = z
  .union([
    z.string().regex(/^(?:0|[1-9][0-9]*)$/, 'expected msat as an unsigned decimal string'),
    z.number().int('expected an integer number of msat').min(0, 'msat cannot be negative').max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value <= U64_MAX, 'amount exceeds u64');

export const msat = z.string().regex(/^(?:0|[1-9][0-9]*)$/).describe('u64 millisatoshi as a decimal string');
export const signedMsat = z.string().regex(/^(?:0|-?[1-9][0-9]*)$/).describe('signed millisatoshi as a decimal string');
const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/).describe('lowercase hex');
const timestamp = z.string().describe('ISO 8601 time');

export const errorBody = z.object({
  error: z.string().describe('short machine-readable code'),
  reason: z.string().describe('what was wrong, for a human'),
});

// ---------------------------------------------------------------------------------------------
// Requests

export const sessionParams = z.object({ i: decimalIndex('a session index') });
export const txidParams = z.object({ txid: hash32 });

export const waitQuery = query({
  wait: decimalIndex('a wait in milliseconds').optional().describe('long-poll up to this many ms (capped by the server)'),
});

export const sessionsQuery = query({
  from: decimalIndex('a session index').optional().describe('first session (default 0)'),
  limit: pageSize().optional().describe('page size (default and maximum set by the server)'),
});

export const itemsQuery = query({
  offset: decimalIndex('an item offset').optional(),
  limit: pageSize().optional(),
});

export const historyQuery = query({
  from: decimalIndex('a session index').optional(),
  to: decimalIndex('a session index').optional().describe('inclusive'),
  format: z.enum(['json', 'csv']).optional().describe('the answer\'s format, over the Accept header (default: as Accept prefers, else json)'),
});

/** Issue 18: an answer as the projection stood at the end of a completed session. */
const atSession = decimalIndex('a session index').optional().describe('answer as of the end of this completed session (404 for one not completed yet)');
export const auditQuery = query({ atSession });
export const ledgerQuery = query({ atSession });
export const txStatusQuery = query({
  wait: decimalIndex('a wait in milliseconds').optional().describe('long-poll up to this many ms (capped by the server); ignored with atSession, whose answer never changes'),
  atSession,
});

/** Encoded transactions are at most 50,000 bytes (DESIGN.md); anything longer is refused unread. */
export const MAX_TRANSACTION_BYTES = 50_000;
const transactionHex = z
  .string()
  .max(MAX_TRANSACTION_BYTES * 2, `a transaction is at most ${MAX_TRANSACTION_BYTES} bytes`)
  .regex(/^(?:[0-9a-fA-F]{2})+$/, 'expected the encoded transaction as hex of whole bytes')
  .transform((s) => s.toLowerCase());

export const submitTransactionBody = z.strictObject({ tx: transactionHex });

/** Most transactions in one batch submission: bounds the work (and the waiters) one request can cause. */
export const MAX_BATCH_TRANSACTIONS = 1000;
export const submitBatchBody = z.strictObject({
  txs: z
    .array(transactionHex)
    .min(1, 'a batch holds at least one transaction')
    .max(MAX_BATCH_TRANSACTIONS, `a batch holds at most ${MAX_BATCH_TRANSACTIONS} transactions`)
    .describe('encoded transactions, each as hex; answered in the same order'),
});

export const depositBody = z.strictObject({
  depositId: hash32,
  amount: msatInput.refine((value) => value > 0n, 'deposit amount must be positive'),
  recipient: xOnlyKey,
});

export const shutdownBody = z.strictObject({
  afterSession: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('shut down once this session is complete'),
});

// ---------------------------------------------------------------------------------------------
// Responses

export const federationResponse = z.object({
  peers: z.array(z.object({ id: z.number().int(), pubkey: hex, apiUrl: z.string() })),
  threshold: z.number().int(),
  consensusHash: hex,
  modules: z.object({ wallet: z.object({ withdrawFeeMsat: z.string().regex(/^(?:0|[1-9][0-9]*)$/) }) }).optional().describe('module settings auditors need to re-run the ledger'),
  configuration: z
    .object({
      keys: z.record(z.string(), hex),
      peers: z.array(z.object({ id: z.number().int(), pubkey: hex, apiUrl: z.string(), p2pUrl: z.string().optional(), certFingerprint: hex.optional() })),
      threshold: z.number().int(),
      sessionSeconds: z.number(),
      roundDelayMs: z.number().int(),
      roundsPerSession: z.number().int(),
      modules: z.object({ wallet: z.object({ withdrawFeeMsat: z.string() }), mint: z.object({}) }),
    })
    .optional()
    .describe('the recorded consensus configuration: sha256 of its canonical JSON is consensusHash (fedlog verify --url recomputes it)'),
});

export const txidResponse = z.object({ txid: hex });

/** What an ?atSession= answer is as of, and what it cost: the kept snapshot it started from and the events folded after it. */
export const asOf = z
  .object({
    session: z.number().int().describe('the completed session the answer is as of'),
    fromSnapshot: z
      .object({ session: z.number().int(), position: z.string().describe('log position (decimal)') })
      .optional()
      .describe('the kept snapshot the fold started from; absent when it started at position 0'),
    folded: z.number().int().describe('events folded after that snapshot'),
  })
  .describe('present with ?atSession=');

export const txStatusResponse = z.object({
  txid: hex,
  status: z.enum(['pending', 'accepted', 'rejected', 'unknown']).describe('with ?atSession=: never pending (the log records no pending transaction)'),
  session: z.number().int().optional(),
  index: z.number().int().optional(),
  reason: z.string().optional(),
  asOf: asOf.optional(),
});

/** POST /v1/transactions: `{ txid }`; with `?wait=` also the status reached within the wait. */
export const submittedResponse = z.object({
  txid: hex,
  status: z.enum(['pending', 'accepted', 'rejected']).optional().describe('only with ?wait='),
  session: z.number().int().optional(),
  index: z.number().int().optional(),
  reason: z.string().optional().describe('why the session loop rejected it'),
});

/** One answer per submitted transaction of a batch, in order. */
export const batchResult = z.object({
  txid: hex.optional().describe('absent only when the transaction did not decode'),
  status: z
    .enum(['pending', 'accepted', 'rejected', 'invalid', 'queueFull'])
    .describe('invalid: refused at submission (as 400); queueFull: not taken, retry after retryAfterSeconds (as 503); pending: queued, no outcome within the wait'),
  session: z.number().int().optional(),
  index: z.number().int().optional(),
  reason: z.string().optional(),
  retryAfterSeconds: z.number().int().optional(),
});
export const submitBatchResponse = z.object({ results: z.array(batchResult) });

export const countResponse = z.object({ count: z.number().int().describe('completed sessions') });

export const sessionSummary = z.object({
  session: z.number().int(),
  header: hex.optional(),
  itemCount: z.number().int(),
  startedAt: timestamp.optional(),
  completedAt: timestamp.optional(),
});
export const sessionsResponse = z.object({ from: z.number().int(), limit: z.number().int(), sessions: z.array(sessionSummary) });

export const acceptedItem = z.object({ peer: z.number().int(), item: hex });

export const sessionStatusResponse = z.object({
  session: z.number().int(),
  status: z.enum(['initial', 'pending', 'complete']),
  itemCount: z.number().int().optional(),
  header: hex.optional(),
  items: z.array(acceptedItem).optional().describe('the accepted items so far (pending sessions)'),
});

export const signedSessionResponse = z.object({
  session: z.number().int(),
  header: hex,
  items: z.array(acceptedItem),
  signatures: z.record(z.string(), hex),
});

const decodedModulePart = z.object({
  module: z.number().int(),
  moduleName: z.string().optional(),
  kind: z.string().optional(),
  value: z.unknown().optional().describe('the decoded module body; bytes as hex, u64 as decimal strings'),
  body: hex.describe('the raw module body'),
  error: z.string().optional().describe('why the body could not be decoded'),
});

export const decodedItem = z.object({
  index: z.number().int(),
  peer: z.number().int(),
  itemHash: hex.optional(),
  item: hex,
  kind: z.enum(['transaction', 'module', 'undecodable']),
  transaction: z
    .object({
      txid: hex,
      inputs: z.array(decodedModulePart),
      outputs: z.array(decodedModulePart),
      nonce: hex,
      signatures: z.array(hex),
    })
    .optional(),
  moduleItem: decodedModulePart.optional(),
  error: z.string().optional(),
});
export const itemsResponse = z.object({
  session: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  total: z.number().int().optional(),
  items: z.array(decodedItem),
});

export const balanceSheet = z.object({
  session: z.number().int().describe('the session the sheet closes (history), or the session of the latest item (current)'),
  itemCount: z.number().int().describe('items of the session (history), or items so far in it (current)'),
  modules: z.array(
    z.object({
      module: z.number().int().describe('module instance id'),
      moduleName: z.string().optional(),
      name: z.string().describe('the balance-sheet line'),
      msat: signedMsat,
    }),
  ),
  netAssets: signedMsat,
});
export const auditResponse = balanceSheet.extend({ asOf: asOf.optional() });

const countAndMsat = z.object({ count: z.number().int(), msat });
export const ledgerResponse = z.object({
  lastItem: z.object({ session: z.number().int(), index: z.number().int() }).optional().describe('the item the ledger ends with; absent before any'),
  deposits: z.object({ confirmed: countAndMsat.describe('confirmed by a threshold, claimed or not'), claimed: countAndMsat }),
  notes: z.object({ unspent: z.number().int(), msat }),
  withdrawals: z.object({ msat }).describe('the ledger keeps their sum, not each one'),
  asOf: asOf.optional(),
});
export const auditHistoryResponse = z.object({ sheets: z.array(balanceSheet) });
export const auditHistoryCsv = z.string().describe('RFC 4180 CSV with a header row: session, items, one column per balance-sheet line (msat), net assets (msat)');

export const peersResponse = z.object({
  peers: z.array(
    z.object({
      id: z.number().int(),
      connection: z.enum(['self', 'connected', 'disconnected', 'unknown']),
      lastContributedSession: z.number().int().optional(),
      /** Last session whose signed outcome carries this peer's signature. */
      lastSignedSession: z.number().int().optional(),
      items: z.number().int(),
      /** The P2P link to this peer (federations of four or more). */
      link: z
        .object({
          since: z.string(),
          connects: z.number().int(),
          disconnects: z.number().int(),
          messagesIn: z.number().int(),
          messagesOut: z.number().int(),
          dropped: z.number().int(),
        })
        .optional(),
    }),
  ),
});

export const projectionsResponse = z.object({
  projections: z.array(
    z.object({
      name: z.string(),
      version: z.number().int(),
      position: z.string().describe('global log position (decimal)'),
      lag: z.number().describe('events appended to (or received from) the log that this projection has not folded yet: a count of events on every log (never a difference of positions, which are byte offsets on EventStoreDB), counted from the end of the start-up catch-up'),
      newestCheckpoint: z.object({ session: z.number().int(), position: z.string() }).optional(),
      failed: z.object({ position: z.string(), reason: z.string() }).optional().describe('the projection threw here; the read models stopped following the log'),
    }),
  ),
});

export const depositResponse = z.object({
  depositId: hex,
  status: z.enum(['queued', 'alreadyAccepted']),
  itemHash: z.string().describe('the id the guardian gave the DepositObserved item'),
});
export const shutdownResponse = z.object({ afterSession: z.number().int() });
