import { describe, expect, it } from 'vitest';
import { CorruptEventError, EventLogClosedError } from '../../src/streams/errors.ts';
import type { Position, RecordedEvent } from '../../src/streams/eventLog.ts';
import { pagesOf, readAllInPages, readAllPagesInOrder, type ReadPage } from '../../src/streams/pagedRead.ts';

/** A log of `count` events at positions 1..count whose rows in `corrupt` cannot be decoded (a page holding one fails as a whole, as the adapters' pages do). */
function fakeLog(count: number, corrupt: ReadonlySet<number> = new Set(), options: { failFirstPageReads?: number; closed?: boolean } = {}) {
  let pageFailures = options.failFirstPageReads ?? 0;
  const reads: Array<[after: Position, limit: number]> = [];
  const readPage: ReadPage = (after, limit) => {
    reads.push([after, limit]);
    if (options.closed === true) throw new EventLogClosedError();
    if (limit > 1 && pageFailures > 0) {
      pageFailures--;
      throw new Error('busy');
    }
    const events: RecordedEvent[] = [];
    for (let p = Number(after) + 1; p <= count && events.length < limit; p++) {
      if (corrupt.has(p)) throw new CorruptEventError(BigInt(p), 'data is not JSON');
      events.push({ id: `e${p}`, stream: 's', revision: p - 1, position: BigInt(p), type: 'T', data: { p }, metadata: { schemaVersion: 1, guardian: 0, recordedAt: 'then' } });
    }
    return Promise.resolve(events);
  };
  return { readPage, reads };
}

async function delivered<T>(read: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of read) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items };
}

const positions = (events: RecordedEvent[]) => events.map((e) => Number(e.position));

describe('paged reads', () => {
  it('readAllPagesInOrder hands out full pages, then the rest, then nothing', async () => {
    const { readPage } = fakeLog(10);
    const { items } = await delivered(readAllPagesInOrder(readPage, 0n, 4));
    expect(items.map(positions)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
    expect((await delivered(readAllPagesInOrder(readPage, 3n, 7))).items.map(positions)).toEqual([[4, 5, 6, 7, 8, 9, 10]]);
    expect((await delivered(readAllPagesInOrder(readPage, 10n, 4))).items).toEqual([]);
    // An exact multiple of the page size ends with one empty read, not an empty page.
    expect((await delivered(readAllPagesInOrder(fakeLog(8).readPage, 0n, 4))).items.map(positions)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
  });

  it('a corrupt row: the events before it (its page cut short), then its error, from both readers', async () => {
    const { readPage } = fakeLog(10, new Set([7]));
    const pages = await delivered(readAllPagesInOrder(readPage, 0n, 4));
    expect(pages.items.map(positions)).toEqual([[1, 2, 3, 4], [5, 6]]);
    expect(pages.error).toMatchObject({ name: 'CorruptEventError', position: 7n });
    const events = await delivered(readAllInPages(readPage, 0n, 4));
    expect(positions(events.items)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.error).toMatchObject({ name: 'CorruptEventError', position: 7n });
    // First row of a page: no empty page before the error.
    const atStart = await delivered(readAllPagesInOrder(fakeLog(10, new Set([5])).readPage, 0n, 4));
    expect(atStart.items.map(positions)).toEqual([[1, 2, 3, 4]]);
    expect(atStart.error).toMatchObject({ position: 5n });
  });

  it('readAllInPages keeps failing for a reader that goes on after the error', async () => {
    const events = readAllInPages(fakeLog(5, new Set([2])).readPage, 0n, 4)[Symbol.asyncIterator]();
    expect((await events.next()).value).toMatchObject({ position: 1n });
    await expect(events.next()).rejects.toMatchObject({ position: 2n });
    await expect(events.next()).rejects.toMatchObject({ position: 2n });
  });

  it('a failure that is not about a row (a closed log) is reported as it is, with nothing delivered', async () => {
    const { readPage } = fakeLog(10, new Set(), { closed: true });
    for (const read of [readAllPagesInOrder(readPage, 0n, 4), readAllInPages(readPage, 0n, 4)]) {
      const { items, error } = await delivered<unknown>(read);
      expect(items).toEqual([]);
      expect(error).toBeInstanceOf(EventLogClosedError);
    }
  });

  it('a page read that failed once but whose rows all read is delivered whole, and reading goes on', async () => {
    const { readPage } = fakeLog(10, new Set(), { failFirstPageReads: 1 });
    const { items, error } = await delivered(readAllPagesInOrder(readPage, 0n, 4));
    expect(error).toBeUndefined();
    expect(items.flat().map((e) => Number(e.position))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('pagesOf groups any event stream into pages, delivering those read before a failure', async () => {
    const { readPage } = fakeLog(10, new Set([8]));
    const { items, error } = await delivered(pagesOf(readAllInPages(readPage, 0n, 3), 3));
    expect(items.map(positions)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(error).toMatchObject({ position: 8n });
    expect((await delivered(pagesOf(readAllInPages(fakeLog(6).readPage, 0n, 4), 3))).items.map(positions)).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(() => pagesOf(readAllInPages(readPage, 0n, 3), 0)).toThrow(RangeError);
  });
});
