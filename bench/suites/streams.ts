/**
 * `npm run bench -- streams`: the sqlite event log against raw better-sqlite3 on the same table,
 * pragmas and durability (WAL, synchronous=FULL, one fsync per commit), in the same run.
 * Every figure is events per second (median of a few runs); the note gives the ratio to raw.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type BenchRow, type BenchSuite } from '../report.ts';
import type { EventLog, EventToAppend } from '../../src/streams/eventLog.ts';
import { newEvent } from '../../src/streams/events.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog, prepareEventsDatabase } from '../../src/streams/sqliteEventLog.ts';

const SUITE = 'streams';
const RUNS = 3;
const metadata = { schemaVersion: 1, guardian: 0, recordedAt: '2024-05-01T12:00:00.000Z' };

/** A realistic row: an accepted ~100-byte transaction item. */
function itemAccepted(index: number): EventToAppend {
  return {
    ...newEvent('ItemAccepted', {
      session: 7,
      index,
      peer: index % 4,
      item: '00'.repeat(100),
      itemHash: 'ab'.repeat(32),
      txid: 'cd'.repeat(32),
      netAssets: String(1_000_000 + index),
    }),
    metadata,
  };
}

let files = 0;
function withFreshFile<T>(dir: string, use: (path: string) => T): T {
  return use(join(dir, `bench-${files++}.sqlite`));
}

function rawDatabase(path: string) {
  const db = new Database(path);
  prepareEventsDatabase(db);
  const insert = db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  // The same work a minimal store of these rows must do: serialise, give an id, insert, commit.
  const commit = db.transaction((stream: string, from: number, events: EventToAppend[]) => {
    events.forEach((event, k) => insert.run(stream, from + k, event.id ?? randomUUID(), event.type, JSON.stringify(event.data), JSON.stringify(event.metadata)));
  });
  return { db, commit };
}

/** Raw: `count` events in transactions of `batch` rows, one after another. */
function rawAppend(path: string, count: number, batch: number): number {
  const { db, commit } = rawDatabase(path);
  const events = Array.from({ length: batch }, (_, i) => itemAccepted(i));
  const start = performance.now();
  for (let n = 0; n < count; n += batch) commit('s', n, events);
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return count / seconds;
}

/** The log: `producers` concurrent appenders, each appending `perProducer` events in batches of `batch`, with exact revisions. */
async function logAppend(open: () => EventLog, producers: number, perProducer: number, batch: number): Promise<number> {
  const log = open();
  const events = Array.from({ length: batch }, (_, i) => itemAccepted(i));
  const start = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      for (let n = 0; n < perProducer; n += batch) await log.append(`s-${p}`, events, { expectedRevision: n === 0 ? 'noStream' : n - 1 });
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return (producers * perProducer) / seconds;
}

/**
 * Measures the log and its raw baseline alternately, run after run, so that the shared machine's
 * drifting fsync latency hits both alike; the ratio is taken between the two medians.
 */
async function paired(name: string, rawName: string, measureLog: () => Promise<number> | number, measureRaw: () => Promise<number> | number, extra = ''): Promise<BenchRow[]> {
  const logRuns: number[] = [];
  const rawRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rawRuns.push(await measureRaw());
    logRuns.push(await measureLog());
  }
  const raw: BenchRow = { suite: SUITE, name: rawName, unit: 'events/s', value: median(rawRuns), runs: rawRuns };
  const log: BenchRow = { suite: SUITE, name, unit: 'events/s', value: median(logRuns), runs: logRuns };
  log.note = ratioNote(log.value, raw.value, extra);
  return [log, raw];
}

function ratioNote(value: number, raw: number, extra = ''): string {
  return `${Math.round((100 * value) / raw)}% of raw (${Math.round(raw).toLocaleString('en-US')}/s)${extra}`;
}

async function appendRows(dir: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases: { name: string; producers: number; perProducer: number; batch: number; rawBatch: number; extra: string }[] = [
    { name: 'durable append, batches of 1', producers: 1, perProducer: 1_500, batch: 1, rawBatch: 1, extra: '' },
    { name: 'durable append, batches of 100', producers: 1, perProducer: 60_000, batch: 100, rawBatch: 100, extra: '' },
    { name: 'durable append, batches of 1,000', producers: 1, perProducer: 150_000, batch: 1000, rawBatch: 1000, extra: '' },
    { name: 'durable append, 8 producers x 1 event (group commit)', producers: 8, perProducer: 800, batch: 1, rawBatch: 1, extra: '; raw = one commit per append, as without group commit' },
    { name: 'durable append, 8 producers x 100 events (group commit)', producers: 8, perProducer: 10_000, batch: 100, rawBatch: 100, extra: '; raw = one commit per append' },
  ];
  // Both places a file log can commit: the calling thread (the default) and the writer thread (what a guardian uses).
  for (const commitOn of ['callingThread', 'writerThread'] as const) {
    for (const c of cases) {
      const total = c.producers * c.perProducer;
      const name = commitOn === 'callingThread' ? c.name : c.name.replace('durable append, ', 'durable append on the writer thread (a guardian), ');
      rows.push(
        ...(await paired(
          name,
          `raw sqlite: ${c.name.replace('durable append, ', '')}`,
          () => withFreshFile(dir, (path) => logAppend(() => createSqliteEventLog(path, { commitOn }), c.producers, c.perProducer, c.batch)),
          () => withFreshFile(dir, (path) => rawAppend(path, total, c.rawBatch)),
          c.extra,
        )),
      );
    }
  }
  rows.push(
    ...(await paired(
      'durable append, batches of 100, schema-checked',
      'raw sqlite: batches of 100 (again)',
      () => withFreshFile(dir, (path) => logAppend(() => withEventSchemas(createSqliteEventLog(path), { guardian: 0 }), 1, 60_000, 100)),
      () => withFreshFile(dir, (path) => rawAppend(path, 60_000, 100)),
      '; zod validation and metadata stamping included',
    )),
  );
  return rows;
}

async function readRows(dir: string): Promise<BenchRow[]> {
  const total = 200_000;
  const path = join(dir, 'read.sqlite');
  {
    const log = createSqliteEventLog(path);
    const events = Array.from({ length: 1000 }, (_, i) => itemAccepted(i));
    for (let n = 0; n < total; n += 1000) await log.append('s', events);
    await log.close();
  }
  const rawRead = () => {
    const db = new Database(path);
    prepareEventsDatabase(db);
    const page = db.prepare<[number, number], { position: number; stream: string; revision: number; id: string; type: string; data: string; metadata: string }>(
      'SELECT position, stream, revision, id, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?',
    );
    const start = performance.now();
    let after = 0;
    let seen = 0;
    for (;;) {
      const rows = page.all(after, 4096);
      for (const row of rows) {
        const decoded = { ...row, position: BigInt(row.position), data: JSON.parse(row.data) as unknown, metadata: JSON.parse(row.metadata) as unknown };
        after = row.position;
        seen += decoded.revision >= 0 ? 1 : 0;
      }
      if (rows.length < 4096) break;
    }
    const rate = seen / ((performance.now() - start) / 1000);
    db.close();
    return rate;
  };
  const logRead = async (schemaChecked: boolean) => {
    const raw = createSqliteEventLog(path);
    const log = schemaChecked ? withEventSchemas(raw, { guardian: 0 }) : raw;
    const start = performance.now();
    let seen = 0;
    for await (const _event of log.readAll()) seen++;
    const rate = seen / ((performance.now() - start) / 1000);
    await log.close();
    return rate;
  };
  const subscriptionCatchUp = async (schemaChecked: boolean) => {
    const raw = createSqliteEventLog(path);
    const log = schemaChecked ? withEventSchemas(raw, { guardian: 0 }) : raw;
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      const subscription = log.subscribe().subscribe({
        next: () => {
          if (++seen === total) {
            resolve();
            queueMicrotask(() => subscription.unsubscribe());
          }
        },
        error: reject,
      });
    });
    const rate = total / ((performance.now() - start) / 1000);
    await log.close();
    return rate;
  };

  const rawName = 'raw sqlite: paged select (.all() rows) + JSON.parse of data and metadata';
  return [
    ...(await paired('readAll + decode (raw adapter)', rawName, () => logRead(false), rawRead)),
    ...(await paired('readAll + decode (schema-checked)', rawName, () => logRead(true), rawRead)),
    ...(await paired('subscription catch-up (raw adapter)', rawName, () => subscriptionCatchUp(false), rawRead)),
    ...(await paired('subscription catch-up (schema-checked)', rawName, () => subscriptionCatchUp(true), rawRead)),
  ];
}

const suite: BenchSuite = {
  name: SUITE,
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-streams-'));
    try {
      return [...(await appendRows(dir)), ...(await readRows(dir))];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default suite;
