import { DeadlineExceededError, NotLeaderError, TimeoutError, UnavailableError } from '@eventstore/db-client';

/**
 * What the EventStoreDB adapter does when a cluster is doing what clusters do: a leader election
 * (NotLeaderError, UNAVAILABLE while the new leader is chosen), a node restart (UNAVAILABLE), a
 * write that missed its deadline (DEADLINE_EXCEEDED, or ABORTED: the server's commit timeout).
 * Such a call is retried with capped exponential backoff for up to `giveUpAfterMs`; only then does
 * the caller see the error (for the engine: a fatal halt, which must not be a routine election).
 * A retried append is idempotent because its event ids are fixed before the first attempt.
 */

export interface RetryPolicy {
  /** The first wait after a transient failure; doubled after each one in a row. */
  firstDelayMs: number;
  /** The cap on one wait. */
  maxDelayMs: number;
  /** No new attempt starts this long after the first one failed. */
  giveUpAfterMs: number;
}

/** An election in a three-node cluster takes a few seconds; a minute covers a node restart too. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { firstDelayMs: 100, maxDelayMs: 5_000, giveUpAfterMs: 60_000 };

/** The wait before attempt `failures + 1`, after `failures` failures in a row (0-based). */
export function backoffDelay(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.firstDelayMs * 2 ** Math.min(failures, 30), policy.maxDelayMs);
}

/** Failures a new call may not meet: the node went away, lost leadership or timed out (gRPC 4, 10, 14). */
export function isTransientError(error: unknown): boolean {
  if (error instanceof UnavailableError || error instanceof NotLeaderError || error instanceof DeadlineExceededError || error instanceof TimeoutError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 14 || code === 4 || code === 10;
}

/** A transient failure outlasted the policy: the cluster has been unreachable (or leaderless) for too long. */
export class EventStoreDbUnavailableError extends Error {
  override readonly name = 'EventStoreDbUnavailableError';
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    override readonly cause: unknown,
  ) {
    super(`${what}: EventStoreDB still failing after ${attempts} attempts over ${(elapsedMs / 1000).toFixed(1)} s: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface RetryHooks {
  /** Told before each wait (for the guardian's log: an election is worth a warning, not silence). */
  onRetry?: (what: string, attempt: number, delayMs: number, error: unknown) => void;
  /** Injectable for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `call` until it succeeds, fails with a non-transient error, or the policy gives up. */
export async function withRetries<T>(what: string, policy: RetryPolicy, call: () => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
  const sleep = hooks.sleep ?? realSleep;
  const now = hooks.now ?? Date.now;
  let firstFailure: number | undefined;
  for (let failures = 0; ; failures++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransientError(error)) throw error;
      const at = now();
      firstFailure ??= at;
      const delay = backoffDelay(policy, failures);
      if (at - firstFailure + delay > policy.giveUpAfterMs) throw new EventStoreDbUnavailableError(what, failures + 1, at - firstFailure, error);
      hooks.onRetry?.(what, failures + 1, delay, error);
      await sleep(delay);
    }
  }
}
