/**
 * A guardian's log as a cluster replica may serve it: the prefix that ends at the newest session
 * whose recorded outcome holds (completedSessionCheck.ts). readAll and subscribe release events in
 * global order, a session at a time, once its SessionCompleted is checked; the open session's
 * events wait, so projections never fold what the federation has not signed. At the first session
 * that does not hold, reading stops there for good: readAll ends, subscribe errors with
 * OutcomeRefusedError, and the session streams from it on read as empty (not complete), as the
 * routes that read streams directly must not serve it either.
 */
import { Subject, Observable } from 'rxjs';
import { START, type EventLog, type Position, type RecordedEvent } from '../streams/eventLog.ts';
import { isEvent, type FedlogEventData } from '../streams/events.ts';
import { completedSessionProblem, type SessionCheckContext } from './completedSessionCheck.ts';
import { OutcomeRefusedError } from './outcomeImport.ts';

export interface VerifiedPrefix {
  /** The view: reads of the prefix, writes passed to the source (a read-only source refuses them). */
  readonly log: EventLog;
  /** Sessions 0..sessions()-1 are checked and released. */
  sessions(): number;
  /** Why following stopped, once a session did not hold. */
  refusal(): OutcomeRefusedError | undefined;
  /** Each session as it is checked, once. */
  readonly sessionCompleted$: Observable<{ session: number; header: string; itemCount: number }>;
}

/** A read from a position where the view never ended a release: it cannot know which session comes next there. */
export class UnverifiedPositionError extends Error {
  override readonly name = 'UnverifiedPositionError';
  constructor(readonly position: Position) {
    super(`cannot read the verified log from position ${position}: no checked session ends there`);
  }
}

export function verifiedPrefixLog(source: EventLog, context: SessionCheckContext & { consensusHash: string }): VerifiedPrefix {
  let verified = 0;
  let refused: OutcomeRefusedError | undefined;
  // Where the newest release ended, and how many sessions lay before it: a read can resume there.
  let boundary = { position: START, sessions: 0 };
  const sessionCompleted$ = new Subject<{ session: number; header: string; itemCount: number }>();

  const sessionsAt = (position: Position): number => {
    if (position === START) return 0;
    if (position === boundary.position) return boundary.sessions;
    throw new UnverifiedPositionError(position);
  };

  /** One reader's state: the events held since its last release, and the session it expects next. */
  const reader = (from: Position) => {
    let next = sessionsAt(from);
    let held: RecordedEvent[] = [];
    return (event: RecordedEvent): RecordedEvent[] | OutcomeRefusedError => {
      held.push(event);
      if (isEvent(event, 'FederationConfigured')) {
        if (event.data.consensusHash !== context.consensusHash) return new OutcomeRefusedError(next, `the log's federation configuration has consensus hash ${event.data.consensusHash}, not the pinned ${context.consensusHash}`);
        return held.length === 1 ? release(event.position, next) : [];
      }
      if (!isEvent(event, 'SessionCompleted')) return [];
      const items = held.filter((e): e is RecordedEvent & { data: FedlogEventData<'ItemAccepted'> } => isEvent(e, 'ItemAccepted')).map((e) => e.data);
      const problem = completedSessionProblem(context, next, event.data, items);
      if (problem !== undefined) return new OutcomeRefusedError(next, problem);
      next += 1;
      if (next > verified) {
        verified = next;
        sessionCompleted$.next({ session: event.data.session, header: event.data.header, itemCount: event.data.itemCount });
      }
      return release(event.position, next);
    };
    function release(position: Position, sessions: number): RecordedEvent[] {
      const out = held;
      held = [];
      if (position > boundary.position) boundary = { position, sessions };
      return out;
    }
  };

  const refuse = (error: OutcomeRefusedError): void => {
    refused ??= error;
  };

  const log: EventLog = {
    append: (stream, events, options) => source.append(stream, events, options),
    deleteStream: (stream) => (source.deleteStream === undefined ? Promise.reject(new Error(`${stream}: the log deletes no streams`)) : source.deleteStream(stream)),
    async readStream(stream, options) {
      const session = /^session-(0|[1-9][0-9]*)$/.exec(stream);
      if (session !== null && Number(session[1]) >= verified) return [];
      return source.readStream(stream, options);
    },
    async *readAll(fromPosition = START) {
      const accept = reader(fromPosition);
      for await (const event of source.readAll(fromPosition)) {
        const released = accept(event);
        if (released instanceof OutcomeRefusedError) {
          refuse(released);
          return;
        }
        yield* released;
      }
    },
    subscribe(fromPosition = START) {
      return new Observable<RecordedEvent>((subscriber) => {
        const accept = reader(fromPosition);
        const subscription = source.subscribe(fromPosition).subscribe({
          next(event) {
            const released = accept(event);
            if (released instanceof OutcomeRefusedError) {
              refuse(released);
              subscriber.error(released);
              return;
            }
            for (const e of released) subscriber.next(e);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        });
        return () => subscription.unsubscribe();
      });
    },
    async close() {
      sessionCompleted$.complete();
      await source.close();
    },
  };

  return { log, sessions: () => verified, refusal: () => refused, sessionCompleted$: sessionCompleted$.asObservable() };
}
