import type { Reply } from './route.ts';

/**
 * The serialized answers of a read endpoint, kept while the projection they are computed from has
 * not moved. Analysts poll the same few pages (the audit, the newest sessions) far more often than
 * a projection changes under load, so most of those requests become one lookup instead of a query
 * plus a JSON.stringify on the thread that also runs the session loop. Keyed by the projection's
 * position, not its state object: a position moves with every event the projection processed,
 * whatever the projection does with its state.
 */
export interface ReplyCache {
  /** A 200 with `compute()`'s JSON for `key`, computed at most once per projection position. */
  reply(key: string, compute: () => unknown): Reply;
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/** @param version the projection's position (any value compared with ===); @param maxKeys distinct keys kept per version (query strings) */
export function createReplyCache(version: () => unknown, maxKeys = 64): ReplyCache {
  let cachedAt: unknown;
  const bodies = new Map<string, string>();
  return {
    reply(key, compute) {
      const now = version();
      if (now !== cachedAt) {
        bodies.clear();
        cachedAt = now;
      }
      let body = bodies.get(key);
      if (body === undefined) {
        body = JSON.stringify(compute());
        // Query strings are the client's choice: bound the keys, never the answers.
        if (bodies.size >= maxKeys) bodies.clear();
        bodies.set(key, body);
      }
      return { status: 200, body, headers: JSON_HEADERS };
    },
  };
}
