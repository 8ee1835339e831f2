/**
 * What a replica reads from the guardian it follows, over the guardian's public API: the federation
 * as the guardian describes it, how many sessions are complete (with their times), and each
 * session's signed outcome. Nothing read here is trusted: signatures and headers are checked by
 * outcomeImport.ts, the federation against the replica's pin (pinnedFederation.ts).
 */
import { z } from 'zod';

const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex');
const peerId = z.number().int().min(0).max(0xffff);

export const federationAnswer = z.object({
  peers: z.array(z.object({ id: peerId, pubkey: z.string().regex(/^[0-9a-f]{64}$/), apiUrl: z.string() })).min(1),
  threshold: z.number().int().min(1),
  consensusHash: z.string().regex(/^[0-9a-f]{64}$/),
  modules: z.object({ wallet: z.object({ withdrawFeeMsat: z.string().regex(/^(0|[1-9][0-9]*)$/) }) }),
});
export type FederationAnswer = z.infer<typeof federationAnswer>;

const sessionsAnswer = z.object({
  sessions: z.array(z.object({ session: z.number().int().min(0), startedAt: z.string().optional(), completedAt: z.string().optional() })),
});
export type SessionTimes = z.infer<typeof sessionsAnswer>['sessions'][number];

export const signedAnswer = z.object({
  session: z.number().int().min(0),
  header: z.string().regex(/^[0-9a-f]{80}$/, '40 bytes of hex'),
  items: z.array(z.object({ peer: peerId, item: hex })),
  signatures: z.record(z.string(), z.string()),
});
export type SignedAnswer = z.infer<typeof signedAnswer>;

/** The guardian could not be reached or answered 5xx: worth trying again later. */
export class GuardianUnreachableError extends Error {
  override readonly name = 'GuardianUnreachableError';
}

/** The guardian answered something that is not its API (4xx other than a pending 404, or a malformed body). */
export class GuardianAnswerError extends Error {
  override readonly name = 'GuardianAnswerError';
}

export interface GuardianFeed {
  readonly url: string;
  federation(signal?: AbortSignal): Promise<FederationAnswer>;
  sessionCount(signal?: AbortSignal): Promise<number>;
  /** The guardian's summaries of sessions from..from+limit-1 (their times are informational, not signed). */
  sessionTimes(from: number, limit: number, signal?: AbortSignal): Promise<SessionTimes[]>;
  /** Session i's signed outcome, waiting up to `waitMs` for it to complete; undefined if it is not complete by then. */
  signedOutcome(session: number, waitMs: number, signal?: AbortSignal): Promise<SignedAnswer | undefined>;
}

export function guardianFeed(baseUrl: string, options: { timeoutMs?: number } = {}): GuardianFeed {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function get<T>(path: string, schema: z.ZodType<T>, signal: AbortSignal | undefined, extraMs = 0): Promise<T | undefined> {
    const url = new URL(path, base);
    const timeout = AbortSignal.timeout(timeoutMs + extraMs);
    let response: Response;
    try {
      response = await fetch(url, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]), headers: { accept: 'application/json' } });
    } catch (error) {
      if (signal?.aborted === true) throw error;
      const reason = error instanceof Error ? (error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message) : String(error);
      throw new GuardianUnreachableError(`GET ${url.href}: ${reason}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.status >= 500) throw new GuardianUnreachableError(`GET ${url.href}: HTTP ${response.status}`);
    const text = await response.text();
    if (!response.ok) throw new GuardianAnswerError(`GET ${url.href}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GuardianAnswerError(`GET ${url.href}: not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new GuardianAnswerError(`GET ${url.href}: unexpected answer: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    return parsed.data;
  }

  const required = async <T>(path: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> => {
    const answer = await get(path, schema, signal);
    if (answer === undefined) throw new GuardianAnswerError(`GET ${new URL(path, base).href}: HTTP 404 (is this a fedlog guardian?)`);
    return answer;
  };

  return {
    url: base.href.replace(/\/$/, ''),
    federation: (signal) => required('v1/federation', federationAnswer, signal),
    sessionCount: async (signal) => (await required('v1/sessions/count', z.object({ count: z.number().int().min(0) }), signal)).count,
    sessionTimes: async (from, limit, signal) => (await required(`v1/sessions?from=${from}&limit=${limit}`, sessionsAnswer, signal)).sessions,
    async signedOutcome(session, waitMs, signal) {
      const answer = await get(`v1/sessions/${session}/signed${waitMs > 0 ? `?wait=${waitMs}` : ''}`, signedAnswer, signal, waitMs);
      if (answer !== undefined && answer.session !== session) throw new GuardianAnswerError(`GET v1/sessions/${session}/signed answered session ${answer.session}`);
      return answer;
    },
  };
}
