import { map } from 'rxjs';
import { CorruptEventError, InvalidEventError } from './errors.ts';
import type { EventLog, EventToAppend, ReadStreamOptions, RecordedEvent } from './eventLog.ts';
import { eventSchemas, isFedlogEventType, upcastAndValidate, validate } from './events.ts';
import { PAGE_SIZE, pagesOf } from './pagedRead.ts';

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

  const readStreamText = log.readStreamText;
  const deleteStream = log.deleteStream;
  const truncateStream = log.truncateStream;
  return {
    // Nothing to check: a deletion carries no event.
    ...(deleteStream === undefined ? {} : { deleteStream: (stream: string) => deleteStream.call(log, stream) }),
    ...(truncateStream === undefined ? {} : { truncateStream: (stream: string, keepNewest: number) => truncateStream.call(log, stream, keepNewest) }),
    // Passed through unchecked, as the port says: the caller validates what it takes from the text.
    ...(readStreamText === undefined ? {} : { readStreamText: (stream: string, readOptions?: ReadStreamOptions) => readStreamText.call(log, stream, readOptions) }),
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
      const pages = log.readAllPages;
      if (pages === undefined) return decodeEach(log.readAll(fromPosition), decode);
      // Over whole pages, a resolved promise per event is the only cost besides decoding.
      return {
        [Symbol.asyncIterator]() {
          const inner = pages.call(log, fromPosition)[Symbol.asyncIterator]();
          let page: RecordedEvent[] = [];
          let index = 0;
          let failed = false;
          let failure: unknown;
          const take = (): Promise<IteratorResult<RecordedEvent>> => {
            try {
              return Promise.resolve({ done: false, value: decode(page[index++]!) });
            } catch (error) {
              // Sticky: a reader that goes on after a corrupt event gets its error again, never the events after it.
              failed = true;
              failure = error;
              return Promise.reject(error as Error);
            }
          };
          const fetch = async (): Promise<IteratorResult<RecordedEvent>> => {
            for (;;) {
              const result = await inner.next();
              if (result.done === true) return { done: true, value: undefined };
              page = result.value;
              index = 0;
              if (page.length > 0) return take();
            }
          };
          return {
            next: () => (failed ? Promise.reject(failure as Error) : index < page.length ? take() : fetch()),
            return: async () => {
              await inner.return?.();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
    readAllPages(fromPosition, pageSize) {
      const pages = log.readAllPages?.(fromPosition, pageSize) ?? pagesOf(log.readAll(fromPosition), pageSize ?? PAGE_SIZE);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const page of pages) {
            // Decoded in place: the adapter's page is fresh, and decode updates its fresh events.
            let i = 0;
            try {
              for (; i < page.length; i++) page[i] = decode(page[i]!);
            } catch (error) {
              if (i > 0) yield page.slice(0, i);
              throw error;
            }
            yield page;
          }
        },
      };
    },
    subscribe(fromPosition) {
      return log.subscribe(fromPosition).pipe(map(decode));
    },
    close: () => log.close(),
  };
}

/** A bare mapping iterator, not an async generator: it keeps decoding the only per-event cost. */
function decodeEach(events: AsyncIterable<RecordedEvent>, decode: (event: RecordedEvent) => RecordedEvent): AsyncIterable<RecordedEvent> {
  return {
    [Symbol.asyncIterator]() {
      const inner = events[Symbol.asyncIterator]();
      return {
        next: () => inner.next().then((result) => (result.done === true ? result : { done: false, value: decode(result.value) })),
        return: async () => (await inner.return?.()) ?? { done: true, value: undefined },
      };
    },
  };
}
