/**
 * Where `fedlog verify` gets what it checks: a guardian's API (`--url`) or a guardian's data
 * directory (`--data`). Both hand out the same two things, the federation as the source claims it
 * and the signed session outcomes in session order; nothing else the guardian computed (no
 * projection, no audit) is read, so nothing the auditor checks depends on trusting it.
 */
import { z } from 'zod';
import { hexToBytes } from '../domain/hashing.ts';
import type { FederationKeys } from '../domain/federation.ts';
import type { ModulesConfigJson } from '../domain/modules/consensusModules.ts';
import { storedFederationProblems, type RecordedSignature } from '../projections/storedDataChecks.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { federationConfigured, isEvent, streams } from '../streams/events.ts';
import type { ConsensusFields } from '../streams/federationConfiguredCheck.ts';
import { openEventLog } from '../streams/openEventLog.ts';
import { fileProblems, locate as locateLog } from './replayCommand.ts';

/** The federation as a source describes it (to be checked against pinned keys when the auditor has them). */
export interface SourceFederation {
  keys: FederationKeys;
  threshold?: number;
  consensusHash?: string;
  /** The consensus configuration the source says its hash covers (a guardian's /v1/federation). */
  configuration?: ConsensusFields;
  /** Module configuration, when the source publishes it (the log does, the API does not). */
  modules?: ModulesConfigJson;
}

/** A signed session outcome as served (API) or recorded (log); hex strings, not yet trusted. */
export interface SignedOutcomeRecord {
  session: number;
  /** header(i) hex as the source states it. */
  header: string;
  /** From the log only: SessionCompleted's itemCount. */
  itemCount?: number;
  /** In session order; `index` from the log only. */
  items: Array<{ index?: number; peer: number; item: string }>;
  signatures: Record<string, string>;
  /** From the log only: what the guardian derived and recorded beside the items, to be recomputed (one entry per item, in order). */
  stored?: { items: Array<{ itemHash: string; txid?: string; netAssets: string }>; signatures: RecordedSignature[] };
}

/** Something wrong with the stored source itself rather than with a session: its FederationConfigured or its file. */
export interface StorageProblem {
  kind: 'federation' | 'file';
  detail: string;
}

export interface SignedOutcomeSource {
  /** For the report: `{ kind: 'url', url }` or `{ kind: 'data', dir, log }`. */
  readonly description: Record<string, string>;
  federation(): Promise<SourceFederation>;
  /** How many sessions are complete (sessions are numbered 0.. without gaps). */
  sessionCount(): Promise<number>;
  /** The signed outcomes of sessions from..last (inclusive, all complete), in order. */
  outcomes(from: number, last: number, signal?: AbortSignal): AsyncIterable<SignedOutcomeRecord>;
  /** A log only: its FederationConfigured against its own hash, and its file's integrity. */
  storageProblems?(): Promise<StorageProblem[]>;
  close(): Promise<void>;
}

/** The source could not be read (exit code 2, not a finding about the federation). */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

function keysFromRecord(record: Record<string, string>): FederationKeys {
  return new Map(Object.entries(record).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
}

// ---------------------------------------------------------------------------------------------
// --data: the log, read through the same code the guardian and `fedlog replay` use.

export async function openDataSource(dir: string): Promise<SignedOutcomeSource> {
  let log: EventLog;
  let found: ReturnType<typeof locateLog>;
  try {
    found = locateLog(dir);
    log = await openEventLog(found.location, { guardian: found.guardian });
  } catch (error) {
    throw new SourceError(`cannot open the log of ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { location, configured } = found;
  return {
    description: { kind: 'data', dir, log: location.kind === 'sqlite' ? location.path : location.kind === 'eventstoredb' ? location.url : 'memory' },
    federation: () => federationOfLog(log),
    sessionCount: () => completedSessionsOfLog(log),
    outcomes: (from, last, signal) => logOutcomes(log, from, last, signal),
    storageProblems: async () => [
      ...(await storedFederationProblems(log, configured)).map((detail) => ({ kind: 'federation' as const, detail })),
      ...fileProblems(location).map(({ detail }) => ({ kind: 'file' as const, detail })),
    ],
    close: () => log.close(),
  };
}

/** A source over an already open log (tests, and callers that hold one). The log is not closed. */
export function logSource(log: EventLog, description: Record<string, string> = { kind: 'log' }): SignedOutcomeSource {
  return {
    description,
    federation: () => federationOfLog(log),
    sessionCount: () => completedSessionsOfLog(log),
    outcomes: (from, last, signal) => logOutcomes(log, from, last, signal),
    storageProblems: async () => (await storedFederationProblems(log)).map((detail) => ({ kind: 'federation' as const, detail })),
    close: async () => {},
  };
}

async function federationOfLog(log: EventLog): Promise<SourceFederation> {
  const [event] = await log.readStream(streams.federation, { maxCount: 1 });
  if (event === undefined || !isEvent(event, 'FederationConfigured')) throw new SourceError('the log has no FederationConfigured event: no federation to verify against');
  const { keys, threshold, consensusHash, modules } = event.data;
  return { keys: keysFromRecord(keys), threshold, consensusHash, modules: { wallet: { withdrawFeeMsat: modules.wallet.withdrawFeeMsat } } };
}

/**
 * SessionCompleted is the last event of its stream, and sessions complete in order: an exponential
 * then binary search over "the newest event of session-<i> is SessionCompleted" needs a handful of reads.
 */
async function completedSessionsOfLog(log: EventLog): Promise<number> {
  const complete = async (i: number) => {
    const [newest] = await log.readStream(streams.session(i), { direction: 'backwards', maxCount: 1 });
    return newest !== undefined && isEvent(newest, 'SessionCompleted');
  };
  if (!(await complete(0))) return 0;
  // Invariant: session lo is complete, session hi is not.
  let lo = 0;
  let hi = 1;
  while (await complete(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await complete(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function* logOutcomes(log: EventLog, from: number, last: number, signal?: AbortSignal): AsyncIterable<SignedOutcomeRecord> {
  for (let session = from; session <= last; session++) {
    signal?.throwIfAborted();
    const record = await readStoredOutcome(log, session);
    if (record === undefined) throw new SourceError(`session ${session} is not complete in the log`);
    yield record;
  }
}

/**
 * A completed session as its stream holds it: the items in the order stored (a reordered store
 * shows as misnumbered items, not silently sorted), the signatures of SessionCompleted, and what
 * the guardian derived beside them (item hashes, txids, net assets, SignatureRecorded) to recompute.
 */
async function readStoredOutcome(log: EventLog, session: number): Promise<SignedOutcomeRecord | undefined> {
  const items: SignedOutcomeRecord['items'] = [];
  const stored: NonNullable<SignedOutcomeRecord['stored']> = { items: [], signatures: [] };
  let completed: { header: string; itemCount: number; signatures: Record<string, string> } | undefined;
  for (const event of await log.readStream(streams.session(session))) {
    if (isEvent(event, 'ItemAccepted')) {
      const { index, peer, item, itemHash, txid, netAssets } = event.data;
      items.push({ index, peer, item });
      stored.items.push(txid === undefined ? { itemHash, netAssets } : { itemHash, txid, netAssets });
    } else if (isEvent(event, 'SignatureRecorded')) stored.signatures.push(event.data);
    else if (isEvent(event, 'SessionCompleted')) completed = event.data;
  }
  if (completed === undefined) return undefined;
  return { session, header: completed.header, itemCount: completed.itemCount, items, signatures: completed.signatures, stored };
}

// ---------------------------------------------------------------------------------------------
// --url: the guardian API, with bounded concurrency and retries.

export interface UrlSourceOptions {
  /** Sessions fetched ahead of the one being verified (default 8). */
  concurrency?: number;
  /** Retries after a 5xx or a network error (default 5), with exponential backoff from `backoffMs` (default 200). */
  retries?: number;
  backoffMs?: number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Told about each retry (the CLI prints it on stderr). */
  onRetry?: (what: string, attempt: number, reason: string) => void;
}

const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex');
const federationResponse = z.object({
  peers: z.array(z.object({ id: z.number().int().min(0).max(0xffff), pubkey: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
  threshold: z.number().int(),
  consensusHash: z.string(),
  modules: z.object({ wallet: z.object({ withdrawFeeMsat: z.string().regex(/^(0|[1-9][0-9]*)$/) }) }).optional(),
  configuration: federationConfigured.pick({ keys: true, peers: true, threshold: true, sessionSeconds: true, roundDelayMs: true, roundsPerSession: true, modules: true }).optional(),
});
const countResponse = z.object({ count: z.number().int().min(0) });
const signedResponse = z.object({
  session: z.number().int().min(0),
  header: z.string().regex(/^[0-9a-f]{80}$/, '40 bytes of hex'),
  items: z.array(z.object({ peer: z.number().int().min(0).max(0xffff), item: hex })),
  signatures: z.record(z.string().regex(/^(0|[1-9][0-9]*)$/), z.string().regex(/^[0-9a-f]{128}$/)),
});

export function openUrlSource(baseUrl: string, options: UrlSourceOptions = {}): SignedOutcomeSource {
  let base: URL;
  try {
    base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  } catch {
    throw new SourceError(`not a URL: ${baseUrl}`);
  }
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const retries = options.retries ?? 5;
  const backoffMs = options.backoffMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 30_000;

  /** GET and parse, retrying what may pass (5xx, network, timeout); a 4xx is the caller's mistake and fails at once. */
  async function get<T>(path: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
    const url = new URL(path, base);
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let reason: string;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const response = await fetch(url, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]), headers: { accept: 'application/json' } });
        if (response.ok) {
          const parsed = schema.safeParse(await response.json());
          if (!parsed.success) throw new SourceError(`GET ${url.href}: unexpected answer: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
          return parsed.data;
        }
        const body = (await response.text()).slice(0, 300);
        if (response.status < 500) throw new SourceError(`GET ${url.href}: HTTP ${response.status}${body === '' ? '' : `: ${body}`}`);
        reason = `HTTP ${response.status}`;
      } catch (error) {
        if (error instanceof SourceError || signal?.aborted === true) throw error;
        reason = error instanceof Error ? (error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message) : String(error);
      }
      if (attempt >= retries) throw new SourceError(`GET ${url.href}: failed after ${attempt + 1} attempts: ${reason}`);
      options.onRetry?.(`GET ${url.href}`, attempt + 1, reason);
      await sleep(backoffMs * 2 ** attempt, signal);
    }
  }

  return {
    description: { kind: 'url', url: base.href },
    async federation() {
      const answer = await get('v1/federation', federationResponse);
      return {
        keys: new Map(answer.peers.map((p) => [p.id, hexToBytes(p.pubkey)])),
        threshold: answer.threshold,
        consensusHash: answer.consensusHash,
        ...(answer.modules === undefined ? {} : { modules: answer.modules }),
        ...(answer.configuration === undefined ? {} : { configuration: answer.configuration }),
      };
    },
    sessionCount: async () => (await get('v1/sessions/count', countResponse)).count,
    async *outcomes(from, last, signal) {
      const fetchOne = async (session: number): Promise<SignedOutcomeRecord> => {
        const answer = await get(`v1/sessions/${session}/signed`, signedResponse, signal);
        if (answer.session !== session) throw new SourceError(`GET v1/sessions/${session}/signed answered session ${answer.session}`);
        return answer;
      };
      yield* orderedPrefetch(from, last, fetchOne, concurrency);
    },
    close: async () => {},
  };
}

/**
 * fetchOne(from..last) with up to `window` requests in flight, yielded in order. A failure is
 * raised when its session's turn comes, so earlier sessions are still verified and reported.
 */
async function* orderedPrefetch<T>(from: number, last: number, fetchOne: (i: number) => Promise<T>, window: number): AsyncIterable<T> {
  const inFlight: Promise<T>[] = [];
  let next = from;
  const fill = () => {
    while (next <= last && inFlight.length < window) {
      const pending = fetchOne(next++);
      // Awaited in order below; until then a rejection must not count as unhandled.
      pending.catch(() => {});
      inFlight.push(pending);
    }
  };
  fill();
  while (inFlight.length > 0) {
    const value = await inFlight.shift()!;
    fill();
    yield value;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
