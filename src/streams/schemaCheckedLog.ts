import { map } from 'rxjs';
import { CorruptEventError, InvalidEventError } from './errors.ts';
import type { EventLog, EventToAppend, RecordedEvent } from './eventLog.ts';
import { eventSchemas, isFedlogEventType, upcastAndValidate, validate } from './events.ts';

/**
 * The schema decorator over any raw EventLog: at append every event's data must pass its
 * current zod schema (or the whole append is refused with InvalidEventError and nothing is
 * written), and metadata is stamped `{ schemaVersion, guardian, recordedAt }`; on read, stored
 * versions are upcast to the current one and validated again. A stored event that cannot be
 * read back raises CorruptEventError with its position: it is never skipped, because a
 * projection that silently missed an event would disagree with its peers.
 */

export interface SchemaOptions {
  guardian: number;
  /** Clock for `recordedAt`; injectable so tests are deterministic. */
  now?: () => Date;
}

export function withEventSchemas(log: EventLog, options: SchemaOptions): EventLog {
  const now = options.now ?? (() => new Date());

  const check = (stream: string, event: EventToAppend): EventToAppend => {
    if (!isFedlogEventType(event.type)) throw new InvalidEventError(stream, String(event.type), 'unknown event type');
    const checked = validate(event.type, event.data);
    if (!checked.ok) throw new InvalidEventError(stream, event.type, checked.reason);
    const metadata = {
      ...event.metadata,
      schemaVersion: eventSchemas[event.type].version,
      guardian: options.guardian,
      // A caller may carry over the original time (e.g. an import); otherwise it is now.
      recordedAt: event.metadata?.recordedAt ?? now().toISOString(),
    };
    return { ...(event.id === undefined ? {} : { id: event.id }), type: event.type, data: checked.data, metadata };
  };

  const decode = (event: RecordedEvent): RecordedEvent => {
    const version = (event.metadata as { schemaVersion?: unknown }).schemaVersion;
    const read = upcastAndValidate(event.type, version, event.data);
    if (!read.ok) throw new CorruptEventError(event.position, `${event.stream}@${event.revision}: ${read.reason}`);
    // Adapters hand out a fresh object per read, so it is updated in place rather than copied.
    event.data = read.data;
    const current = eventSchemas[event.type as keyof typeof eventSchemas].version;
    if (version !== current) event.metadata = { ...event.metadata, schemaVersion: current };
    return event;
  };

  return {
    append(stream, events, appendOptions) {
      let checked: EventToAppend[];
      try {
        checked = events.map((event) => check(stream, event));
      } catch (error) {
        return Promise.reject(error as Error);
      }
      return log.append(stream, checked, appendOptions);
    },
    async readStream(stream, readOptions) {
      return (await log.readStream(stream, readOptions)).map(decode);
    },
    readAll(fromPosition) {
      const events = log.readAll(fromPosition);
      // A bare mapping iterator, not an async generator: it keeps decoding the only per-event cost.
      return {
        [Symbol.asyncIterator]() {
          const inner = events[Symbol.asyncIterator]();
          return {
            next: () => inner.next().then((result) => (result.done === true ? result : { done: false, value: decode(result.value) })),
            return: async () => (await inner.return?.()) ?? { done: true, value: undefined },
          };
        },
      };
    },
    subscribe(fromPosition) {
      return log.subscribe(fromPosition).pipe(map(decode));
    },
    close: () => log.close(),
  };
}
