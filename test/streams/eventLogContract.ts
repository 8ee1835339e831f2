import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogClosedError, ExpectedRevisionConflict } from '../../src/streams/errors.ts';
import { START, type EventLog, type EventToAppend, type Position, type RecordedEvent } from '../../src/streams/eventLog.ts';

/**
 * The one contract every EventLog adapter passes (DESIGN.md: "All adapters pass one shared
 * contract suite"). Adapter-agnostic: stream names are unique per test, positions are only
 * compared (never assumed consecutive), and global reads start after a position this test wrote,
 * so the suite also runs against a shared EventStoreDB.
 */
export function describeEventLogContract(name: string, open: () => Promise<EventLog>, options: { readAllPages?: boolean } = {}): void {
  describe(`EventLog contract: ${name}`, () => {
    let log: EventLog;
    const run = randomUUID().slice(0, 8);
    let streamCount = 0;
    const stream = (label: string) => `${label}-${run}-${streamCount++}`;
    const ev = (n: number, extra: Partial<EventToAppend> = {}): EventToAppend => ({ type: 'Tested', data: { n }, ...extra });
    const ns = (events: RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);

    /** A position at or after every event appended so far by this test. */
    const mark = async () => (await log.append(stream('mark'), [ev(-1)])).position;
    const readAllAfter = async (after: Position, streams: string[]) => {
      const seen: RecordedEvent[] = [];
      for await (const event of log.readAll(after)) if (streams.includes(event.stream)) seen.push(event);
      return seen;
    };

    beforeEach(async () => {
      log = await open();
    });
    afterEach(async () => {
      await log.close();
    });

    describe('append and readStream', () => {
      it('appends to a new stream from revision 0 and reads it back as given', async () => {
        const s = stream('new');
        const result = await log.append(s, [ev(0, { metadata: { guardian: 3 } }), { type: 'Other', data: { nested: { list: [1, 'two', null, true] }, text: 'héllo ✓' } }], { expectedRevision: 'noStream' });
        expect(result.nextExpectedRevision).toBe(1);
        const events = await log.readStream(s);
        expect(events.map((e) => [e.stream, e.revision, e.type])).toEqual([
          [s, 0, 'Tested'],
          [s, 1, 'Other'],
        ]);
        expect(events[0]!.data).toEqual({ n: 0 });
        expect(events[0]!.metadata).toMatchObject({ guardian: 3 });
        expect(events[1]!.data).toEqual({ nested: { list: [1, 'two', null, true] }, text: 'héllo ✓' });
        expect(events[1]!.position).toBe(result.position);
        expect(events[0]!.position < events[1]!.position).toBe(true);
        expect(typeof events[0]!.id).toBe('string');
        expect(events[0]!.id).not.toBe(events[1]!.id);
      });

      it('keeps the ids given by the caller', async () => {
        const s = stream('ids');
        const id = randomUUID();
        await log.append(s, [ev(0, { id })]);
        expect((await log.readStream(s))[0]!.id).toBe(id);
      });

      it('reads an unknown stream as empty', async () => {
        expect(await log.readStream(stream('missing'))).toEqual([]);
        expect(await log.readStream(stream('missing'), { direction: 'backwards' })).toEqual([]);
      });

      it('reads forwards and backwards, from a revision, at most maxCount', async () => {
        const s = stream('read');
        await log.append(s, [0, 1, 2, 3, 4, 5].map((n) => ev(n)));
        expect(ns(await log.readStream(s))).toEqual([0, 1, 2, 3, 4, 5]);
        expect(ns(await log.readStream(s, { fromRevision: 2 }))).toEqual([2, 3, 4, 5]);
        expect(ns(await log.readStream(s, { fromRevision: 2, maxCount: 3 }))).toEqual([2, 3, 4]);
        expect(ns(await log.readStream(s, { direction: 'backwards' }))).toEqual([5, 4, 3, 2, 1, 0]);
        expect(ns(await log.readStream(s, { direction: 'backwards', fromRevision: 3 }))).toEqual([3, 2, 1, 0]);
        expect(ns(await log.readStream(s, { direction: 'backwards', maxCount: 2 }))).toEqual([5, 4]);
        expect(ns(await log.readStream(s, { fromRevision: 9 }))).toEqual([]);
        expect((await log.readStream(s, { direction: 'backwards' })).map((e) => e.revision)).toEqual([5, 4, 3, 2, 1, 0]);
      });

      it('gives later appends later positions, across streams', async () => {
        const a = stream('a');
        const b = stream('b');
        const first = await log.append(a, [ev(0)]);
        const second = await log.append(b, [ev(1)]);
        const third = await log.append(a, [ev(2)]);
        expect(first.position < second.position && second.position < third.position).toBe(true);
        expect(third.nextExpectedRevision).toBe(1);
      });
    });

    describe('expected revision', () => {
      it('noStream succeeds only on a stream without events', async () => {
        const s = stream('noStream');
        await log.append(s, [ev(0)], { expectedRevision: 'noStream' });
        const error = await log.append(s, [ev(1)], { expectedRevision: 'noStream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ExpectedRevisionConflict);
        expect(error).toMatchObject({ stream: s, expected: 'noStream', actual: 0 });
        expect(ns(await log.readStream(s))).toEqual([0]);
      });

      it('streamExists succeeds only on a stream with events', async () => {
        const s = stream('exists');
        const error = await log.append(s, [ev(0)], { expectedRevision: 'streamExists' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ExpectedRevisionConflict);
        expect(error).toMatchObject({ stream: s, expected: 'streamExists', actual: 'noStream' });
        expect(await log.readStream(s)).toEqual([]);
        await log.append(s, [ev(0)]);
        await expect(log.append(s, [ev(1)], { expectedRevision: 'streamExists' })).resolves.toMatchObject({ nextExpectedRevision: 1 });
      });

      it('an exact revision must be the stream’s last revision', async () => {
        const s = stream('exact');
        await log.append(s, [ev(0), ev(1)], { expectedRevision: 'noStream' });
        await expect(log.append(s, [ev(2)], { expectedRevision: 1 })).resolves.toMatchObject({ nextExpectedRevision: 2 });
        for (const stale of [0, 1, 5]) {
          const error = await log.append(s, [ev(99)], { expectedRevision: stale }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ExpectedRevisionConflict);
          expect(error).toMatchObject({ stream: s, expected: stale, actual: 2 });
        }
        const onMissing = await log.append(stream('exact-missing'), [ev(0)], { expectedRevision: 0 }).catch((e: unknown) => e);
        expect(onMissing).toMatchObject({ actual: 'noStream' });
        expect(ns(await log.readStream(s))).toEqual([0, 1, 2]);
      });

      it('any always appends at the end', async () => {
        const s = stream('any');
        await log.append(s, [ev(0)], { expectedRevision: 'any' });
        await expect(log.append(s, [ev(1)])).resolves.toMatchObject({ nextExpectedRevision: 1 });
      });

      it('lets exactly one of several racing appenders with the same expected revision win', async () => {
        const s = stream('race');
        await log.append(s, [ev(0)]);
        const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => log.append(s, [ev(n)], { expectedRevision: 0 })));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ExpectedRevisionConflict);
        expect(await log.readStream(s)).toHaveLength(2);
      });
    });

    describe('idempotent retries (same event ids)', () => {
      it('a retry with the same exact revision returns the original result and writes nothing', async () => {
        const s = stream('retry-exact');
        await log.append(s, [ev(0)]);
        const batch = [ev(1, { id: randomUUID() }), ev(2, { id: randomUUID() })];
        const original = await log.append(s, batch, { expectedRevision: 0 });
        await log.append(s, [ev(3)]);
        expect(await log.append(s, batch, { expectedRevision: 0 })).toEqual(original);
        expect(ns(await log.readStream(s))).toEqual([0, 1, 2, 3]);
      });

      it('a retry with noStream returns the original result', async () => {
        const s = stream('retry-noStream');
        const batch = [ev(0, { id: randomUUID() })];
        const original = await log.append(s, batch, { expectedRevision: 'noStream' });
        expect(await log.append(s, batch, { expectedRevision: 'noStream' })).toEqual(original);
        expect(await log.readStream(s)).toHaveLength(1);
      });

      it('a retry with any, right after the original, returns the original result', async () => {
        const s = stream('retry-any');
        const batch = [ev(0, { id: randomUUID() }), ev(1, { id: randomUUID() })];
        const original = await log.append(s, batch);
        expect(await log.append(s, batch)).toEqual(original);
        expect(await log.readStream(s)).toHaveLength(2);
      });

      it('a different batch at a taken revision is a conflict, even if it shares the first id', async () => {
        const s = stream('retry-mismatch');
        const first = randomUUID();
        await log.append(s, [ev(0, { id: first }), ev(1, { id: randomUUID() })], { expectedRevision: 'noStream' });
        await expect(log.append(s, [ev(0, { id: first }), ev(1, { id: randomUUID() })], { expectedRevision: 'noStream' })).rejects.toBeInstanceOf(ExpectedRevisionConflict);
        await expect(log.append(s, [ev(7, { id: randomUUID() })], { expectedRevision: 'noStream' })).rejects.toBeInstanceOf(ExpectedRevisionConflict);
        expect(await log.readStream(s)).toHaveLength(2);
      });
    });

    describe('readAll', () => {
      it('reads every event after a position in global order, across streams', async () => {
        const before = await mark();
        const a = stream('all-a');
        const b = stream('all-b');
        await log.append(a, [ev(0), ev(1)]);
        await log.append(b, [ev(2)]);
        await log.append(a, [ev(3)]);
        const seen = await readAllAfter(before, [a, b]);
        expect(ns(seen)).toEqual([0, 1, 2, 3]);
        for (let i = 1; i < seen.length; i++) expect(seen[i - 1]!.position < seen[i]!.position).toBe(true);
        expect(seen.map((e) => [e.stream, e.revision])).toEqual([
          [a, 0],
          [a, 1],
          [b, 0],
          [a, 2],
        ]);
      });

      it('excludes the event at the given position', async () => {
        const s = stream('all-from');
        await log.append(s, [ev(0), ev(1), ev(2)]);
        const [, second] = await log.readStream(s);
        expect(ns(await readAllAfter(second!.position, [s]))).toEqual([2]);
      });

      it('reads more than one page', async () => {
        const before = await mark();
        const s = stream('all-pages');
        const total = 5000;
        for (let i = 0; i < total; i += 500) await log.append(s, Array.from({ length: 500 }, (_, k) => ev(i + k)));
        const seen = await readAllAfter(before, [s]);
        expect(seen).toHaveLength(total);
        expect(ns(seen)).toEqual(Array.from({ length: total }, (_, i) => i));
      });
    });

    describe('readAllPages (optional)', () => {
      /** Every page of readAllPages after `after`, checked for the port's page rules. */
      const pagesAfter = async (after: Position, pageSize?: number) => {
        const read = log.readAllPages;
        expect(typeof read).toBe(options.readAllPages === true ? 'function' : 'undefined');
        if (read === undefined) return [];
        const pages: RecordedEvent[][] = [];
        for await (const page of read.call(log, after, pageSize)) {
          expect(page.length).toBeGreaterThan(0);
          if (pageSize !== undefined) expect(page.length).toBeLessThanOrEqual(pageSize);
          pages.push(page);
        }
        return pages;
      };

      it('hands out exactly the events of readAll, in pages of at most the page size', async () => {
        const before = await mark();
        const a = stream('pages-a');
        const b = stream('pages-b');
        await log.append(a, [ev(0), ev(1), ev(2)]);
        await log.append(b, [ev(3), ev(4)]);
        await log.append(a, [ev(5), ev(6)]);
        const all: RecordedEvent[] = [];
        for await (const event of log.readAll(before)) all.push(event);
        for (const pageSize of [1, 2, 3, 7, undefined]) {
          const pages = await pagesAfter(before, pageSize);
          if (options.readAllPages !== true) continue;
          expect(pages.flat(), `page size ${pageSize}`).toEqual(all);
          if (pageSize !== undefined) expect(pages.length).toBe(Math.ceil(all.length / pageSize));
        }
        // The only events after the last one: none, not an empty page.
        expect(await pagesAfter(all.at(-1)?.position ?? before, 2)).toEqual([]);
      });

      it('starts strictly after the given position, and pages are the caller’s to keep', async () => {
        const s = stream('pages-from');
        await log.append(s, [ev(0), ev(1), ev(2), ev(3)]);
        const [first] = await log.readStream(s);
        const pages = await pagesAfter(first!.position, 2);
        if (options.readAllPages !== true) return;
        expect(ns(pages.flat().filter((e) => e.stream === s))).toEqual([1, 2, 3]);
        pages[0]!.length = 0;
        (pages.flat()[0]!.data as { n: number }).n = 99;
        const again = await pagesAfter(first!.position, 2);
        expect(ns(again.flat().filter((e) => e.stream === s))).toEqual([1, 2, 3]);
      });

      it('reads more than one of its default pages, in order', async () => {
        const before = await mark();
        const s = stream('pages-many');
        const total = 3000;
        for (let i = 0; i < total; i += 500) await log.append(s, Array.from({ length: 500 }, (_, k) => ev(i + k)));
        const pages = await pagesAfter(before);
        if (options.readAllPages !== true) return;
        expect(pages.length).toBeGreaterThan(1);
        expect(ns(pages.flat().filter((e) => e.stream === s))).toEqual(Array.from({ length: total }, (_, i) => i));
      });

      it('refuses a page size that is not a positive integer', () => {
        if (options.readAllPages !== true) {
          expect(log.readAllPages).toBeUndefined();
          return;
        }
        for (const pageSize of [0, -1, 1.5, Number.NaN]) expect(() => log.readAllPages!(START, pageSize)).toThrow(RangeError);
      });
    });

    describe('subscribe', () => {
      it('catches up, then delivers live events, in order, without duplicates', async () => {
        const before = await mark();
        const s = stream('sub');
        await log.append(s, [ev(0), ev(1)]);
        const received: RecordedEvent[] = [];
        let subscription: Subscription | undefined;
        const done = new Promise<void>((resolve, reject) => {
          subscription = log.subscribe(before).subscribe({
            next: (event) => {
              if (event.stream !== s) return;
              received.push(event);
              if (received.length === 5) resolve();
            },
            error: reject,
          });
        });
        await log.append(s, [ev(2)]);
        await log.append(s, [ev(3), ev(4)]);
        await done;
        subscription!.unsubscribe();
        expect(ns(received)).toEqual([0, 1, 2, 3, 4]);
        for (let i = 1; i < received.length; i++) expect(received[i - 1]!.position < received[i]!.position).toBe(true);
      });

      it('starts strictly after the given position', async () => {
        const s = stream('sub-from');
        await log.append(s, [ev(0), ev(1), ev(2)]);
        const [first] = await log.readStream(s);
        const next = await firstValueFrom(log.subscribe(first!.position).pipe(take(2), toArray()));
        expect(next.map((e) => [e.stream, (e.data as { n: number }).n])).toEqual([
          [s, 1],
          [s, 2],
        ]);
      });

      it('stops delivering once unsubscribed', async () => {
        const before = await mark();
        const s = stream('sub-stop');
        const received: number[] = [];
        let resolveFirst: () => void = () => {};
        const first = new Promise<void>((resolve) => (resolveFirst = resolve));
        const subscription = log.subscribe(before).subscribe((event) => {
          if (event.stream !== s) return;
          received.push((event.data as { n: number }).n);
          resolveFirst();
        });
        await log.append(s, [ev(0)]);
        await first;
        subscription.unsubscribe();
        await log.append(s, [ev(1)]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(received).toEqual([0]);
        expect(subscription.closed).toBe(true);
      });

      it('sees every event of concurrent appenders exactly once', async () => {
        const before = await mark();
        const streams = [stream('c0'), stream('c1'), stream('c2'), stream('c3')];
        const perStream = 50;
        const received: RecordedEvent[] = [];
        let subscription: Subscription | undefined;
        const done = new Promise<void>((resolve, reject) => {
          subscription = log.subscribe(before).subscribe({
            next: (event) => {
              if (!streams.includes(event.stream)) return;
              received.push(event);
              if (received.length === streams.length * perStream) resolve();
            },
            error: reject,
          });
        });
        await Promise.all(
          streams.map(async (s) => {
            for (let n = 0; n < perStream; n++) await log.append(s, [ev(n)], { expectedRevision: n === 0 ? 'noStream' : n - 1 });
          }),
        );
        await done;
        subscription!.unsubscribe();
        for (let i = 1; i < received.length; i++) expect(received[i - 1]!.position < received[i]!.position).toBe(true);
        for (const s of streams) expect(ns(received.filter((e) => e.stream === s))).toEqual(Array.from({ length: perStream }, (_, n) => n));
      });
    });

    describe('close', () => {
      it('refuses to append after close', async () => {
        await log.close();
        await expect(log.append(stream('closed'), [ev(0)])).rejects.toBeInstanceOf(EventLogClosedError);
        log = await open();
      });
    });

    it('uses START as the position before everything', () => {
      expect(START).toBe(0n);
    });
  });
}
