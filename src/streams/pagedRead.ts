import type { Position, RecordedEvent } from './eventLog.ts';

/** Reads at most `limit` events with position strictly greater than `after`, in position order. */
export type ReadPage = (after: Position, limit: number) => RecordedEvent[] | Promise<RecordedEvent[]>;

/**
 * readAll for the local adapters: fetches a page at a time (an open cursor left across awaits
 * would block appends on the same connection) and hands events out of the page with a bare
 * iterator, which costs one resolved promise per event instead of an async generator's machinery.
 */
export function readAllInPages(readPage: ReadPage, fromPosition: Position, pageSize: number): AsyncIterable<RecordedEvent> {
  return {
    [Symbol.asyncIterator]() {
      let after = fromPosition;
      let page: RecordedEvent[] = [];
      let index = 0;
      let last = false;
      const fetch = async (): Promise<IteratorResult<RecordedEvent>> => {
        page = await readPage(after, pageSize);
        index = 0;
        last = page.length < pageSize;
        return take();
      };
      const take = (): IteratorResult<RecordedEvent> => {
        if (index === page.length) return { done: true, value: undefined };
        const event = page[index++]!;
        after = event.position;
        return { done: false, value: event };
      };
      // Within a page, an already-resolved promise: no async function frame per event.
      const next = (): Promise<IteratorResult<RecordedEvent>> => (index < page.length || last ? Promise.resolve(take()) : fetch());
      return { next, return: async () => ({ done: true, value: undefined }) };
    },
  };
}
