import type { Position, RecordedEvent } from './eventLog.ts';

/**
 * The local adapters' page size. Small on purpose: a page's events are alive while it is being
 * read, and pages of thousands of events (megabytes of strings) outlive young-generation
 * collections and get copied; at 512 a page is gone before that (measured: 4096 costs a third
 * more per event than 512 on a real log; 128-1024 are all about equal).
 */
export const PAGE_SIZE = 512;

/** Reads at most `limit` events with position strictly greater than `after`, in position order. */
export type ReadPage = (after: Position, limit: number) => RecordedEvent[] | Promise<RecordedEvent[]>;

/** A page read; when a row of it could not be read, the events before that row and what stopped it. */
interface PageOrPrefix {
  events: RecordedEvent[];
  failed: boolean;
  error: unknown;
}

/**
 * Reads a page. A page read fails as a whole when one of its rows cannot be decoded, so the page
 * is then read again row by row: the events before the bad row are still delivered (in order, as
 * one page) and only then its error. Corrupt rows are rare; this path costs nothing otherwise.
 */
async function readPageOrPrefix(readPage: ReadPage, after: Position, limit: number): Promise<PageOrPrefix> {
  try {
    return { events: await readPage(after, limit), failed: false, error: undefined };
  } catch (pageError) {
    const events: RecordedEvent[] = [];
    while (events.length < limit) {
      let row: RecordedEvent[];
      try {
        row = await readPage(after, 1);
      } catch (error) {
        return { events, failed: true, error };
      }
      const event = row[0];
      if (event === undefined) break;
      events.push(event);
      after = event.position;
    }
    // Row by row, everything read after all: the failure was not about a row (keep it).
    return events.length === 0 ? { events, failed: true, error: pageError } : { events, failed: false, error: undefined };
  }
}

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
      let failed = false;
      let failure: unknown;
      const fetch = async (): Promise<IteratorResult<RecordedEvent>> => {
        const read = await readPageOrPrefix(readPage, after, pageSize);
        page = read.events;
        index = 0;
        last = read.failed || page.length < pageSize;
        failed = read.failed;
        failure = read.error;
        return take();
      };
      const take = (): IteratorResult<RecordedEvent> => {
        if (index === page.length) {
          // Sticky: a reader that goes on after the error gets it again, never the events after it.
          if (failed) throw failure;
          return { done: true, value: undefined };
        }
        const event = page[index++]!;
        after = event.position;
        return { done: false, value: event };
      };
      const takeNow = (): Promise<IteratorResult<RecordedEvent>> => {
        try {
          return Promise.resolve(take());
        } catch (error) {
          return Promise.reject(error as Error);
        }
      };
      // Within a page, an already-resolved promise: no async function frame per event.
      const next = (): Promise<IteratorResult<RecordedEvent>> => (index < page.length || last ? takeNow() : fetch());
      return { next, return: async () => ({ done: true, value: undefined }) };
    },
  };
}

/** readAllPages for the local adapters: the pages of readAllInPages, handed out whole. */
export function readAllPagesInOrder(readPage: ReadPage, fromPosition: Position, pageSize: number): AsyncIterable<RecordedEvent[]> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`readAllPages: the page size must be a positive integer, not ${pageSize}`);
  return {
    async *[Symbol.asyncIterator]() {
      let after = fromPosition;
      for (;;) {
        const read = await readPageOrPrefix(readPage, after, pageSize);
        const events = read.events;
        if (events.length > 0) {
          after = events[events.length - 1]!.position;
          yield events;
        }
        if (read.failed) throw read.error;
        if (events.length < pageSize) return;
      }
    },
  };
}

/** Pages of at most `pageSize` events of any readAll, for a log whose adapter has no readAllPages. */
export function pagesOf(events: AsyncIterable<RecordedEvent>, pageSize: number): AsyncIterable<RecordedEvent[]> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`readAllPages: the page size must be a positive integer, not ${pageSize}`);
  return {
    async *[Symbol.asyncIterator]() {
      let page: RecordedEvent[] = [];
      try {
        for await (const event of events) {
          page.push(event);
          if (page.length === pageSize) {
            yield page;
            page = [];
          }
        }
      } catch (error) {
        // The events read before the failure are delivered first, as readAll delivers them.
        if (page.length > 0) yield page;
        throw error;
      }
      if (page.length > 0) yield page;
    },
  };
}
