import { LRUCache } from 'lru-cache';
import type { Reply } from './route.ts';

/**
 * The serialized answers of a read endpoint, each valid while the projection it was computed from
 * has not moved. Analysts poll the same few pages (the audit, the newest sessions) far more often
 * than a projection changes under load, so most of those requests become one lookup instead of a
 * query plus a JSON.stringify on the thread that also runs the session loop. Keyed by the
 * projection's position, not its state object: a position moves with every event the projection
 * processed, whatever the projection does with its state.
 *
 * An answer is computed only when asked for (never because the projection moved), and the kept
 * ones are bounded in number and in bytes: query strings are the client's choice.
 */
export interface ReplyCache {
  /**
   * A 200 with `compute()`'s JSON for `key`, computed at most once per key and version: by default
   * the projection's position, or `at` for an answer known to depend on less (a page of sessions
   * that are all complete never changes).
   */
  reply(key: string, compute: () => unknown, at?: unknown): Reply;
  /** The projection position answers are computed at now. */
  version(): unknown;
}

export interface ReplyCacheLimits {
  /** Most keys kept. Default 256. */
  maxKeys?: number;
  /** Most bytes of answers kept (UTF-16 code units, near enough). Default 16 MiB. */
  maxBytes?: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

interface Kept {
  at: unknown;
  body: string;
}

/** @param version the projection's position (any value compared with ===) */
export function createReplyCache(version: () => unknown, limits: ReplyCacheLimits = {}): ReplyCache {
  const kept = new LRUCache<string, Kept>({
    max: limits.maxKeys ?? 256,
    maxSize: limits.maxBytes ?? 16 * 1024 * 1024,
    // An answer larger than the whole budget is answered, not kept.
    sizeCalculation: (entry) => Math.max(1, entry.body.length),
  });
  return {
    version,
    reply(key, compute, at = version()) {
      const now = at;
      let entry = kept.get(key);
      if (entry === undefined || entry.at !== now) {
        entry = { at: now, body: JSON.stringify(compute()) };
        kept.set(key, entry);
      }
      return { status: 200, body: entry.body, headers: JSON_HEADERS };
    },
  };
}
