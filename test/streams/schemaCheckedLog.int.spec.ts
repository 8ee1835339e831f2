import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray, take } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptEventError, InvalidEventError } from '../../src/streams/errors.ts';
import type { EventLog, RecordedEvent } from '../../src/streams/eventLog.ts';
import { isEvent, newEvent } from '../../src/streams/events.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { openEventLog, openRawEventLog } from '../../src/streams/openEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { sampleEvents } from './fixtures/sampleEvents.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedlog-schema-'));
let files = 0;
const freshPath = () => join(dir, `log-${files++}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = () => new Date('2024-05-01T12:00:00.000Z');
const checked = (raw: EventLog) => withEventSchemas(raw, { guardian: 2, now: clock });

async function readAllOf(log: EventLog): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of log.readAll()) events.push(event);
  return events;
}

/** What readAll and readAllPages deliver before they fail (and the error), or everything. */
async function deliveredBy(read: AsyncIterable<RecordedEvent> | AsyncIterable<RecordedEvent[]>): Promise<{ events: RecordedEvent[]; error?: unknown }> {
  const events: RecordedEvent[] = [];
  try {
    for await (const item of read) events.push(...(Array.isArray(item) ? item : [item]));
  } catch (error) {
    return { events, error };
  }
  return { events };
}

/** A log that has readAll only, like the EventStoreDB adapter. */
const withoutPages = (log: EventLog): EventLog => ({ ...log, readAllPages: undefined });

/** Overwrites one stored column of the event at `position`, behind the log's back. */
function tamper(path: string, position: number, column: 'data' | 'metadata' | 'type', value: string) {
  const db = new Database(path);
  db.prepare(`UPDATE events SET ${column} = ? WHERE position = ?`).run(value, position);
  db.close();
}

describe('withEventSchemas at append', () => {
  it('stores every event type as given and stamps schemaVersion, guardian and recordedAt', async () => {
    const log = checked(createMemoryEventLog());
    for (const event of sampleEvents) await log.append(`s-${event.type}`, [event]);
    const read = await readAllOf(log);
    expect(read.map((e) => ({ type: e.type, data: e.data }))).toEqual(sampleEvents);
    const completed = read.find((e) => e.type === 'SessionCompleted')!;
    expect(completed.metadata).toEqual({ schemaVersion: 2, guardian: 2, recordedAt: '2024-05-01T12:00:00.000Z' });
    expect(read.find((e) => e.type === 'UnitSaved')!.metadata.schemaVersion).toBe(1);
    await log.close();
  });

  it('refuses a payload that fails its schema with a clear error, and writes nothing of the batch', async () => {
    const log = checked(createSqliteEventLog(':memory:'));
    const good = newEvent('UnitSaved', { session: 1, unit: 'ab' });
    const bad = { type: 'UnitSaved', data: { session: 1, unit: 'NOT HEX' } };
    const error = await log.append('dag-1', [good, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error).toMatchObject({ stream: 'dag-1', type: 'UnitSaved' });
    expect((error as Error).message).toMatch(/unit/);
    expect(await log.readStream('dag-1')).toEqual([]);
    await log.close();
  });

  it('refuses an unknown event type', async () => {
    const log = checked(createMemoryEventLog());
    await expect(log.append('x', [{ type: 'Mystery', data: {} }])).rejects.toThrow(/Mystery.*unknown event type/);
    await log.close();
  });
});

describe('withEventSchemas on read', () => {
  it('upcasts a stored SessionCompleted v1 to v2 (source local) in readStream, readAll and subscribe', async () => {
    const raw = createMemoryEventLog();
    const v1 = { session: 0, header: 'ab'.repeat(40), itemCount: 0, signatures: {} };
    await raw.append('session-0', [{ type: 'SessionCompleted', data: v1, metadata: { schemaVersion: 1, guardian: 0, recordedAt: 'then' } }]);
    const log = checked(raw);
    const [fromStream] = await log.readStream('session-0');
    const [fromAll] = await readAllOf(log);
    const [fromSubscription] = await firstValueFrom(log.subscribe().pipe(take(1), toArray()));
    for (const event of [fromStream!, fromAll!, fromSubscription!]) {
      expect(isEvent(event, 'SessionCompleted')).toBe(true);
      expect(event.data).toEqual({ ...v1, source: 'local' });
      expect(event.metadata).toEqual({ schemaVersion: 2, guardian: 0, recordedAt: 'then' });
    }
    await log.close();
  });

  it('reports a stored row whose data is garbage JSON with its position, in every read path', async () => {
    const path = freshPath();
    let log = checked(createSqliteEventLog(path));
    await log.append('dag-0', [newEvent('UnitSaved', { session: 0, unit: '01' }), newEvent('UnitSaved', { session: 0, unit: '02' }), newEvent('UnitSaved', { session: 0, unit: '03' })]);
    await log.close();
    tamper(path, 2, 'data', '{"session": 0, "unit": "02"');
    log = checked(createSqliteEventLog(path));

    const fromAll = await readAllOf(log).catch((e: unknown) => e);
    expect(fromAll).toBeInstanceOf(CorruptEventError);
    expect(fromAll).toMatchObject({ position: 2n });
    expect((fromAll as Error).message).toMatch(/position 2.*not JSON/);
    await expect(log.readStream('dag-0')).rejects.toMatchObject({ name: 'CorruptEventError', position: 2n });
    const delivered: RecordedEvent[] = [];
    const subscriptionError = await new Promise((resolve) => {
      log.subscribe().subscribe({ next: (e) => delivered.push(e), error: resolve });
    });
    expect(subscriptionError).toMatchObject({ name: 'CorruptEventError', position: 2n });
    // Nothing after the corrupt event is delivered: a reader stops rather than skip it.
    expect(delivered.every((e) => e.position < 2n)).toBe(true);
    await log.close();
  });

  it('reports a stored event whose JSON no longer fits its schema, or whose type is unknown', async () => {
    const path = freshPath();
    let log = checked(createSqliteEventLog(path));
    await log.append('dag-0', [newEvent('UnitSaved', { session: 0, unit: '01' }), newEvent('UnitSaved', { session: 0, unit: '02' })]);
    await log.close();
    tamper(path, 1, 'data', '{"session": "zero", "unit": "01"}');
    tamper(path, 2, 'type', 'Martian');
    log = checked(createSqliteEventLog(path));
    await expect(log.readStream('dag-0', { maxCount: 1 })).rejects.toMatchObject({ name: 'CorruptEventError', position: 1n, message: expect.stringMatching(/session/) as unknown });
    await expect(log.readStream('dag-0', { fromRevision: 1 })).rejects.toMatchObject({ name: 'CorruptEventError', position: 2n, message: expect.stringMatching(/Martian/) as unknown });
    await log.close();
  });

  it('the raw sqlite adapter itself reports garbage JSON with its position', async () => {
    const path = freshPath();
    let raw = createSqliteEventLog(path);
    await raw.append('s', [{ type: 'T', data: 1 }]);
    await raw.close();
    tamper(path, 1, 'metadata', 'garbage');
    raw = createSqliteEventLog(path);
    await expect(raw.readStream('s')).rejects.toMatchObject({ name: 'CorruptEventError', position: 1n, message: expect.stringMatching(/metadata is not JSON/) as unknown });
    await raw.close();
  });
});

describe('withEventSchemas, reading whole pages', () => {
  const everyType = sampleEvents.map((e) => newEvent(e.type, e.data));

  it('readAllPages and readAll give the same decoded events, with or without the adapter’s readAllPages', async () => {
    for (const raw of [createMemoryEventLog(), createSqliteEventLog(freshPath())]) {
      const log = checked(raw);
      await log.append('session-0', [...everyType, ...everyType]);
      await raw.append('session-0', [{ type: 'SessionCompleted', data: { session: 1, header: 'ab'.repeat(40), itemCount: 0, signatures: {} }, metadata: { schemaVersion: 1, guardian: 0, recordedAt: 'then' } }]);
      const expected = await readAllOf(log);
      expect(expected).toHaveLength(2 * everyType.length + 1);
      expect(expected.map((e) => e.data)).toEqual([...sampleEvents.map((e) => e.data), ...sampleEvents.map((e) => e.data), { session: 1, header: 'ab'.repeat(40), itemCount: 0, signatures: {}, source: 'local' }]);
      expect(expected.at(-1)!.metadata.schemaVersion).toBe(2);
      for (const reader of [log, checked(withoutPages(raw))]) {
        expect((await readAllOf(reader)).map((e) => [e.position, e.data, e.metadata])).toEqual(expected.map((e) => [e.position, e.data, e.metadata]));
        for (const pageSize of [1, 4, undefined]) {
          const pages: RecordedEvent[][] = [];
          for await (const page of reader.readAllPages!(0n, pageSize)) pages.push(page);
          expect(pages.flat()).toEqual(expected);
          if (pageSize !== undefined) expect(pages.every((page) => page.length > 0 && page.length <= pageSize)).toBe(true);
        }
        const after = expected[3]!.position;
        expect(await deliveredBy(reader.readAllPages!(after, 2))).toEqual({ events: expected.slice(4) });
      }
      await log.close();
    }
  });

  it('deliver every event before a garbage JSON row, then its error with its position, and nothing after it', async () => {
    const path = freshPath();
    let log = checked(createSqliteEventLog(path));
    await log.append('dag-0', [1, 2, 3, 4, 5].map((n) => newEvent('UnitSaved', { session: 0, unit: `0${n}` })));
    await log.close();
    tamper(path, 3, 'data', '{"session": 0, "unit": "03"');
    const raw = createSqliteEventLog(path);
    log = checked(raw);
    for (const read of [raw.readAll(), raw.readAllPages!(0n, 4), log.readAll(), log.readAllPages!(0n, 4), log.readAllPages!(0n, 1), checked(withoutPages(raw)).readAll(), checked(withoutPages(raw)).readAllPages!(0n, 4)]) {
      const { events, error } = await deliveredBy(read);
      expect(events.map((e) => e.position)).toEqual([1n, 2n]);
      expect(error).toBeInstanceOf(CorruptEventError);
      expect(error).toMatchObject({ position: 3n, message: expect.stringMatching(/position 3.*not JSON/) as unknown });
    }
    await log.close();
  });

  it('deliver every event before one that fails its schema or has an unknown type, then its error', async () => {
    const path = freshPath();
    let log = checked(createSqliteEventLog(path));
    await log.append('dag-0', [1, 2, 3, 4].map((n) => newEvent('UnitSaved', { session: 0, unit: `0${n}` })));
    await log.close();
    tamper(path, 2, 'data', '{"session": "zero", "unit": "02"}');
    tamper(path, 4, 'type', 'Martian');
    const raw = createSqliteEventLog(path);
    log = checked(raw);
    for (const read of [log.readAll(), log.readAllPages!(0n, 3), log.readAllPages!(), checked(withoutPages(raw)).readAll(), checked(withoutPages(raw)).readAllPages!(0n, 3)]) {
      const { events, error } = await deliveredBy(read);
      expect(events.map((e) => e.position)).toEqual([1n]);
      expect(error).toMatchObject({ name: 'CorruptEventError', position: 2n, message: expect.stringMatching(/session/) as unknown });
    }
    const fromThree = await deliveredBy(log.readAllPages!(2n));
    expect(fromThree.events.map((e) => e.position)).toEqual([3n]);
    expect(fromThree.error).toMatchObject({ name: 'CorruptEventError', position: 4n, message: expect.stringMatching(/Martian/) as unknown });
    await log.close();
  });

  it('readAll keeps failing at a corrupt event for a reader that goes on calling next', async () => {
    const path = freshPath();
    let log = checked(createSqliteEventLog(path));
    await log.append('dag-0', [1, 2, 3].map((n) => newEvent('UnitSaved', { session: 0, unit: `0${n}` })));
    await log.close();
    tamper(path, 2, 'data', '{"session": "zero", "unit": "02"}');
    log = checked(createSqliteEventLog(path));
    const events = log.readAll()[Symbol.asyncIterator]();
    expect((await events.next()).value).toMatchObject({ position: 1n });
    await expect(events.next()).rejects.toMatchObject({ name: 'CorruptEventError', position: 2n });
    await expect(events.next()).rejects.toMatchObject({ name: 'CorruptEventError', position: 2n });
    await log.close();
  });
});

describe('the schema decorator and deleteStream', () => {
  it("passes deleteStream through to an adapter that has it: a session's backup goes, its history stays", async () => {
    const log = await openEventLog({ kind: 'sqlite', path: freshPath() }, { guardian: 0, now: clock });
    await log.append('dag-0', [1, 2].map((n) => newEvent('UnitSaved', { session: 0, unit: `0${n}` })));
    await log.append('session-0', [newEvent('SessionCompleted', { session: 0, header: 'aa'.repeat(40), itemCount: 0, signatures: {}, source: 'local' })]);
    await log.deleteStream!('dag-0');
    expect(await log.readStream('dag-0')).toEqual([]);
    expect((await readAllOf(log)).map((e) => e.type)).toEqual(['SessionCompleted']);
    await log.close();
  });

  it('offers no deleteStream over an adapter without one', () => {
    const { deleteStream: _, ...raw } = createMemoryEventLog();
    expect(checked(raw).deleteStream).toBeUndefined();
  });
});

describe('openEventLog', () => {
  it('opens a schema-checked sqlite log, creating its directory, that survives reopening', async () => {
    const path = join(dir, 'guardian-0', 'data', 'log.sqlite');
    let log = await openEventLog({ kind: 'sqlite', path }, { guardian: 0 });
    await expect(log.append('x', [{ type: 'Nope', data: {} }])).rejects.toBeInstanceOf(InvalidEventError);
    const { position } = await log.append('dag-0', [newEvent('UnitSaved', { session: 0, unit: '' })], { expectedRevision: 'noStream' });
    await log.close();
    log = await openEventLog({ kind: 'sqlite', path }, { guardian: 0 });
    const [event] = await log.readStream('dag-0');
    expect(event).toMatchObject({ position, type: 'UnitSaved', metadata: { guardian: 0, schemaVersion: 1 } });
    await log.close();
  });

  it('opens a schema-checked memory log', async () => {
    const log = await openEventLog({ kind: 'memory' }, { guardian: 1 });
    await expect(log.append('x', [{ type: 'UnitSaved', data: {} }])).rejects.toBeInstanceOf(InvalidEventError);
    await log.close();
  });

  it('loads the EventStoreDB adapter only when asked, without connecting', async () => {
    const log = await openRawEventLog({ kind: 'eventstoredb', url: 'esdb://127.0.0.1:1?tls=false' });
    expect(typeof log.append).toBe('function');
    await log.close();
  });
});
