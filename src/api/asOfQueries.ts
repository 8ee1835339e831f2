import { LRUCache } from 'lru-cache';
import type { z } from 'zod';
import { stateAtSession, type AsOfState } from '../projections/checkpointAsOf.ts';
import type { Projection } from '../projections/projection.ts';
import type { EventLog } from '../streams/eventLog.ts';
import { ApiError } from './apiError.ts';
import type * as s from './schemas.ts';

/**
 * Projections as of a completed session, for the `?atSession=` answers (issue 18). Such a state
 * never changes once its session completed, so the newest few are kept (by projection and
 * session), and concurrent requests for the same one share one computation: the promise is kept.
 */

export type AsOf = z.output<typeof s.asOf>;

export interface AsOfQueries {
  /** `projection` at the end of `session`, and what the answer says it is as of; ApiError 404 for a session not completed. */
  at<S>(projection: Projection<S>, session: number): Promise<{ state: S; asOf: AsOf }>;
}

/** States kept by default: a ledger or transactions state of a long log is large. */
const DEFAULT_KEPT = 8;

/** @param newestCompleted the newest completed session, undefined before any */
export function createAsOfQueries(log: EventLog, newestCompleted: () => number | undefined, kept = DEFAULT_KEPT): AsOfQueries {
  const states = new LRUCache<string, Promise<AsOfState<unknown> | undefined>>({ max: kept });

  const notComplete = (session: number) => {
    const newest = newestCompleted();
    return new ApiError(404, 'not_found', `session ${session} is not complete: ${newest === undefined ? 'no session has completed yet' : `the newest completed session is ${newest}`}`);
  };

  return {
    async at<S>(projection: Projection<S>, session: number) {
      const newest = newestCompleted();
      if (newest === undefined || session > newest) throw notComplete(session);
      const key = `${projection.name}@${session}`;
      let computing = states.get(key);
      if (computing === undefined) {
        computing = stateAtSession(log, projection, session);
        states.set(key, computing);
        // A failed computation is not kept: the next request tries again.
        computing.catch(() => states.delete(key));
      }
      const found = await computing;
      if (found === undefined) {
        states.delete(key);
        throw notComplete(session);
      }
      const asOf: AsOf = {
        session,
        ...(found.fromSnapshot === undefined ? {} : { fromSnapshot: { session: found.fromSnapshot.session, position: found.fromSnapshot.position.toString() } }),
        folded: found.folded,
      };
      return { state: found.state as S, asOf };
    },
  };
}
