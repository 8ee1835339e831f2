import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogClosedError } from '../../src/streams/errors.ts';
import type { EventLog, EventToAppend, Position, RecordedEvent } from '../../src/streams/eventLog.ts';

/**
 * The optional `truncateStream` of the EventLog port (checkpoint streams keep only their newest
 * snapshots), for every adapter that implements it. Adapter-agnostic: stream names are unique per
 * test and positions are only compared.
 */
export function describeTruncateStreamContract(name: string, open: () => Promise<EventLog>, options: { local?: boolean } = {}): void {
  // The local adapters' guarantees: removed events leave $all at once, and a truncation is queued
  // with the appends. EventStoreDB's $all shows them until the server's next scavenge, and it
  // truncates at the stream's last revision when asked.
  const local = options.local ?? true;
  describe(`EventLog contract, truncateStream: ${name}`, () => {
    let log: EventLog;
    let truncate: (stream: string, keepNewest: number) => Promise<void>;
    const run = randomUUID().slice(0, 8);
    let streamCount = 0;
    const stream = (label: string) => `${label}-${run}-${streamCount++}`;
    const ev = (n: number): EventToAppend => ({ type: 'Tested', data: { n } });
    const ns = (events: RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);
    const revisions = (events: RecordedEvent[]) => events.map((e) => e.revision);
    const readAllAfter = async (after: Position, streams: string[]) => {
      const seen: RecordedEvent[] = [];
      for await (const event of log.readAll(after)) if (streams.includes(event.stream)) seen.push(event);
      return seen;
    };

    beforeEach(async () => {
      log = await open();
      if (log.truncateStream === undefined) throw new Error(`${name} does not implement truncateStream`);
      truncate = log.truncateStream.bind(log);
    });
    afterEach(async () => {
      await log.close();
    });

    it('keeps the newest events with their revisions and positions, forwards and backwards', async () => {
      const checkpoint = stream('checkpoint');
      await log.append(checkpoint, [ev(0), ev(1), ev(2), ev(3), ev(4)]);
      const before = await log.readStream(checkpoint);
      await truncate(checkpoint, 2);
      const after = await log.readStream(checkpoint);
      expect(ns(after)).toEqual([3, 4]);
      expect(after).toEqual(before.slice(3));
      expect(ns(await log.readStream(checkpoint, { direction: 'backwards' }))).toEqual([4, 3]);
      // Reading from a removed revision starts at the oldest kept one (forwards) or finds nothing (backwards).
      expect(revisions(await log.readStream(checkpoint, { fromRevision: 0, maxCount: 1 }))).toEqual([3]);
      expect(await log.readStream(checkpoint, { direction: 'backwards', fromRevision: 2 })).toEqual([]);
    });

    it('continues the revisions after the kept events: an exact expected revision still holds', async () => {
      const checkpoint = stream('checkpoint');
      const appended = await log.append(checkpoint, [ev(0), ev(1), ev(2)]);
      await truncate(checkpoint, 1);
      const next = await log.append(checkpoint, [ev(3)], { expectedRevision: appended.nextExpectedRevision });
      expect(next.nextExpectedRevision).toBe(3);
      expect(next.position > appended.position).toBe(true);
      expect(revisions(await log.readStream(checkpoint))).toEqual([2, 3]);
    });

    if (local)
      it('leaves other streams untouched, and readAll, readAllPages and a new subscription skip only the removed events', async () => {
      const before = (await log.append(stream('mark'), [ev(-1)])).position;
      const checkpoint = stream('checkpoint');
      const session = stream('session');
      await log.append(checkpoint, [ev(0)]);
      await log.append(session, [ev(10)]);
      await log.append(checkpoint, [ev(1), ev(2)]);
      await truncate(checkpoint, 1);
      expect(ns(await log.readStream(session))).toEqual([10]);
      expect((await readAllAfter(before, [checkpoint, session])).map((e) => [e.stream, (e.data as { n: number }).n])).toEqual([
        [session, 10],
        [checkpoint, 2],
      ]);
      if (log.readAllPages !== undefined) {
        const paged: RecordedEvent[] = [];
        for await (const page of log.readAllPages(before, 1)) paged.push(...page.filter((e) => e.stream === checkpoint || e.stream === session));
        expect(ns(paged)).toEqual([10, 2]);
      }
      const subscribed = await firstValueFrom(log.subscribe(before).pipe(take(2), toArray()));
      expect(ns(subscribed)).toEqual([10, 2]);
    });

    it('touches a stream with no more than keepNewest events nothing, and an unknown stream neither', async () => {
      const checkpoint = stream('checkpoint');
      await log.append(checkpoint, [ev(0), ev(1)]);
      await truncate(checkpoint, 2);
      await truncate(checkpoint, 5);
      await truncate(stream('never-written'), 1);
      expect(ns(await log.readStream(checkpoint))).toEqual([0, 1]);
    });

    if (local)
      it('is ordered with appends: an append called before it counts among the newest, one called after is kept', async () => {
      const checkpoint = stream('checkpoint');
      await log.append(checkpoint, [ev(0), ev(1)]);
      const appended = log.append(checkpoint, [ev(2)]);
      const truncated = truncate(checkpoint, 1);
      const after = log.append(checkpoint, [ev(3)]);
      await Promise.all([appended, truncated, after]);
      expect(ns(await log.readStream(checkpoint))).toEqual([2, 3]);
    });

    it('applies truncations and deletions asked at once, each to its own stream', async () => {
      const [a, b, c] = [stream('checkpoint'), stream('checkpoint'), stream('dag')];
      await log.append(a, [ev(0), ev(1), ev(2)]);
      await log.append(b, [ev(3), ev(4)]);
      await log.append(c, [ev(5)]);
      await Promise.all([truncate(a, 1), truncate(b, 1), log.deleteStream?.(c)]);
      expect(ns(await log.readStream(a))).toEqual([2]);
      expect(ns(await log.readStream(b))).toEqual([4]);
      if (log.deleteStream !== undefined) expect(await log.readStream(c)).toEqual([]);
    });

    it('refuses to keep nothing (that is deleteStream), and refuses after close', async () => {
      await expect(truncate(stream('checkpoint'), 0)).rejects.toThrow(RangeError);
      await expect(truncate(stream('checkpoint'), 1.5)).rejects.toThrow(RangeError);
      await log.close();
      await expect(truncate(stream('checkpoint'), 1)).rejects.toThrow(EventLogClosedError);
      log = await open();
    });
  });
}
