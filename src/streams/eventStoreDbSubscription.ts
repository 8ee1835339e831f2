import { Observable } from 'rxjs';
import type { AllStreamResolvedEvent, AllStreamSubscription, Filter, ReadPosition } from '@eventstore/db-client';
import { EventLogClosedError } from './errors.ts';
import type { Position, RecordedEvent } from './eventLog.ts';
import { backoffDelay, isTransientError, type RetryPolicy } from './eventStoreDbRetry.ts';
import type { EventStoreDbClientPort } from './eventStoreDb.ts';

/**
 * The port's `subscribe` over EventStoreDB's `$all` subscription: catch up, then live. A call the
 * server ends (a node shutting down, a leader election, a server-side timeout) or drops with a
 * transient error is opened again after the last delivered event, with capped backoff; only when
 * that keeps failing for longer than the policy allows does the subscriber get the error, so that
 * a projection stops loudly (GET /v1/projections, /metrics) rather than silently falling behind.
 */

export interface FollowAllOptions {
  client: EventStoreDbClientPort;
  from: Position;
  filter: () => Filter;
  /** Our event after `after`, or undefined for anything to skip (system events, other tenants, already delivered). */
  toOwnEvent(resolved: AllStreamResolvedEvent, after: Position): RecordedEvent | undefined;
  policy: RetryPolicy;
  /** Consecutive reopenings without a delivered event before the subscriber sees the error. */
  attempts: number;
  isClosed(): boolean;
  /** Registers the subscription's `end` with the log, so close() completes it. */
  track(end: () => void): () => void;
  toReadPosition(position: Position): ReadPosition;
  onResubscribe?: (attempt: number, delayMs: number, reason: unknown) => void;
}

/** The server ended a subscription we did not end: not an error of ours, but the stream did stop. */
export class SubscriptionEndedByServer extends Error {
  override readonly name = 'SubscriptionEndedByServer';
  constructor() {
    super('EventStoreDB ended the $all subscription');
  }
}

export function followAll(options: FollowAllOptions): Observable<RecordedEvent> {
  return new Observable<RecordedEvent>((subscriber) => {
    if (options.isClosed()) {
      subscriber.error(new EventLogClosedError());
      return undefined;
    }
    let last = options.from;
    let failures = 0;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let current: AllStreamSubscription | undefined;

    const cancelCurrent = (): void => {
      const subscription = current;
      if (subscription === undefined) return;
      current = undefined;
      subscription.removeAllListeners();
      // A late error from a call we cancelled must not surface as an uncaught 'error' event.
      subscription.on('error', () => undefined);
      subscription.unsubscribe().catch(() => undefined);
    };
    const stop = (): void => {
      stopped = true;
      clearTimeout(retry);
      untrack();
      cancelCurrent();
    };
    const fail = (error: unknown): void => {
      stop();
      subscriber.error(error);
    };

    /** Reopens after the last delivered event, or gives the error to the subscriber once the policy is spent. */
    const reopen = (reason: unknown): void => {
      if (stopped) return;
      cancelCurrent();
      if (failures >= options.attempts) {
        fail(reason);
        return;
      }
      const delay = backoffDelay(options.policy, failures);
      failures += 1;
      options.onResubscribe?.(failures, delay, reason);
      retry = setTimeout(() => {
        if (!stopped) open();
      }, delay);
    };

    const open = (): void => {
      const subscription = options.client.subscribeToAll({ fromPosition: options.toReadPosition(last), filter: options.filter() });
      current = subscription;
      subscription.on('data', (resolved: AllStreamResolvedEvent) => {
        let event: RecordedEvent | undefined;
        try {
          event = options.toOwnEvent(resolved, last);
        } catch (error) {
          fail(error);
          return;
        }
        // Dropping anything at or before the last delivered position keeps the stream free of
        // duplicates, including across a resubscription.
        if (event === undefined) return;
        failures = 0;
        last = event.position;
        subscriber.next(event);
      });
      subscription.on('error', (error: Error) => {
        if (!isTransientError(error)) fail(error);
        else reopen(error);
      });
      // Only the server ends a call we still hold (ours are cancelled with their listeners removed).
      subscription.on('end', () => reopen(new SubscriptionEndedByServer()));
    };

    const untrack = options.track(() => {
      stop();
      subscriber.complete();
    });
    open();
    return stop;
  });
}
