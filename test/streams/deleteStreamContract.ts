import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogClosedError } from '../../src/streams/errors.ts';
import { START, type EventLog, type EventToAppend, type Position, type RecordedEvent } from '../../src/streams/eventLog.ts';

/**
 * The optional `deleteStream` of the EventLog port, for every adapter that implements it (DESIGN.md:
 * `dag-<i>` is a backup, not history). Adapter-agnostic as the main contract suite: stream names are
 * unique per test and positions are only compared.
 */
export function describeDeleteStreamContract(name: string, open: () => Promise<EventLog>): void {
  describe(`EventLog contract, deleteStream: ${name}`, () => {
    let log: EventLog;
    let deleteStream: (stream: string) => Promise<void>;
    const run = randomUUID().slice(0, 8);
    let streamCount = 0;
    const stream = (label: string) => `${label}-${run}-${streamCount++}`;
    const ev = (n: number): EventToAppend => ({ type: 'Tested', data: { n } });
    const ns = (events: RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);
    const readAllAfter = async (after: Position, streams: string[]) => {
      const seen: RecordedEvent[] = [];
      for await (const event of log.readAll(after)) if (streams.includes(event.stream)) seen.push(event);
      return seen;
    };

    beforeEach(async () => {
      log = await open();
      if (log.deleteStream === undefined) throw new Error(`${name} does not implement deleteStream`);
      deleteStream = log.deleteStream.bind(log);
    });
    afterEach(async () => {
      await log.close();
    });

    it('reads a deleted stream as empty, forwards and backwards', async () => {
      const dag = stream('dag');
      await log.append(dag, [ev(0), ev(1), ev(2)]);
      await deleteStream(dag);
      expect(await log.readStream(dag)).toEqual([]);
      expect(await log.readStream(dag, { direction: 'backwards' })).toEqual([]);
    });

    it('leaves every other stream untouched, and readAll, readAllPages and a new subscription skip only the deleted events', async () => {
      const before = (await log.append(stream('mark'), [ev(-1)])).position;
      const dag = stream('dag');
      const session = stream('session');
      await log.append(session, [ev(10)]);
      await log.append(dag, [ev(0), ev(1)]);
      await log.append(session, [ev(11)]);
      await log.append(dag, [ev(2)]);
      await deleteStream(dag);
      expect(ns(await log.readStream(session))).toEqual([10, 11]);
      expect((await readAllAfter(before, [dag, session])).map((e) => [e.stream, (e.data as { n: number }).n])).toEqual([
        [session, 10],
        [session, 11],
      ]);
      if (log.readAllPages !== undefined) {
        const paged: RecordedEvent[] = [];
        for await (const page of log.readAllPages(before, 1)) paged.push(...page.filter((e) => e.stream === dag || e.stream === session));
        expect(ns(paged)).toEqual([10, 11]);
      }
      const subscribed = await firstValueFrom(log.subscribe(before).pipe(take(2), toArray()));
      expect(subscribed.map((e) => e.stream)).toEqual([session, session]);
    });

    it('starts a deleted stream again at revision 0: noStream holds, and positions keep growing', async () => {
      const dag = stream('dag');
      const first = await log.append(dag, [ev(0), ev(1)], { expectedRevision: 'noStream' });
      await deleteStream(dag);
      const again = await log.append(dag, [ev(5)], { expectedRevision: 'noStream' });
      expect(again.nextExpectedRevision).toBe(0);
      // Never a position given before: readers' cursors and checkpoints stay valid.
      expect(again.position > first.position).toBe(true);
      const events = await log.readStream(dag);
      expect(events.map((e) => [e.revision, (e.data as { n: number }).n])).toEqual([[0, 5]]);
    });

    it('never hands out a position again, even when the deleted events were the newest of the log', async () => {
      const dag = stream('dag');
      const newest = await log.append(dag, [ev(0), ev(1)]);
      await deleteStream(dag);
      const other = stream('other');
      const next = await log.append(other, [ev(2)]);
      expect(next.position > newest.position).toBe(true);
      // A reader that had reached the deleted events still sees what came after them.
      expect(ns(await readAllAfter(newest.position, [other]))).toEqual([2]);
      // And a second deletion at the end of the log keeps that guarantee.
      const tail = await log.append(dag, [ev(3)]);
      await deleteStream(dag);
      expect((await log.append(other, [ev(4)])).position > tail.position).toBe(true);
      expect(ns(await readAllAfter(START, [other]))).toEqual([2, 4]);
    });

    it('is ordered with appends: an append called before the deletion is deleted, one called after is kept', async () => {
      const dag = stream('dag');
      await log.append(dag, [ev(0)]);
      const appended = log.append(dag, [ev(1)]);
      const deleted = deleteStream(dag);
      const after = log.append(dag, [ev(2)], { expectedRevision: 'noStream' });
      await Promise.all([appended, deleted, after]);
      expect(ns(await log.readStream(dag))).toEqual([2]);
    });

    it('does nothing for a stream that has no events', async () => {
      const other = stream('other');
      await log.append(other, [ev(0)]);
      await deleteStream(stream('never-written'));
      expect(ns(await log.readStream(other))).toEqual([0]);
    });

    it('refuses after close', async () => {
      await log.close();
      await expect(deleteStream(stream('dag'))).rejects.toThrow(EventLogClosedError);
      log = await open();
    });
  });
}
