/**
 * Queries as of a session (issue 18 §2) over a long single-guardian SQLite log written by the
 * projection tests' fixture: the time of `stateAtSession` at seeded random sessions, with the
 * tiered checkpoint retention (checkpointTiers.ts, K = checkpointRetention) against keeping one
 * snapshot per session and against folding from position 0; and the snapshot storage each costs.
 * The log is written twice with the same seed (same events), once per retention.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { medianRow, type BenchRow, type BenchSuite } from '../report.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { auditProjection } from '../../src/projections/audit.ts';
import { stateAtSession } from '../../src/projections/checkpointAsOf.ts';
import { ledgerProjection } from '../../src/projections/ledger.ts';
import { foldInto, type Projection } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { transactionsProjection } from '../../src/projections/transactions.ts';
import { START, type EventLog } from '../../src/streams/eventLog.ts';
import { isEvent, streams } from '../../src/streams/events.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { checkpointEachSession, writeSessionLog } from '../../test/projections/sessionLogFixture.ts';

const SESSIONS = Number(process.env.FEDLOG_BENCH_ASOF_SESSIONS ?? 256);
const ITEMS_PER_SESSION = Number(process.env.FEDLOG_BENCH_ASOF_ITEMS ?? 24);
/** checkpointRetention's default (src/consensus/config.ts). */
const RETENTION = 3;
const QUERIES = 200;
/** Folds from position 0 cost a whole log each: fewer of them. */
const QUERIES_FROM_0 = 40;
const SEED = 18;

const open = (path: string): EventLog => withEventSchemas(createSqliteEventLog(path), { guardian: 0 });

async function generate(path: string, retention: number): Promise<void> {
  const log = open(path);
  const host = await startProjections(log, { retention });
  const started = performance.now();
  const fixture = await writeSessionLog(log, { sessions: SESSIONS, itemsPerSession: ITEMS_PER_SESSION, seed: SEED, afterSession: checkpointEachSession(host) });
  await host.stop();
  await log.close();
  console.log(`generated ${fixture.events} consensus events, retention ${retention}, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Snapshots stored in every checkpoint stream of the file, and their bytes of JSON. */
function snapshotStorage(path: string): { count: number; bytes: number } {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare<[], { count: number; bytes: number | null }>("SELECT COUNT(*) AS count, SUM(LENGTH(data)) AS bytes FROM events WHERE type = 'SnapshotTaken'").get()!;
    return { count: row.count, bytes: row.bytes ?? 0 };
  } finally {
    db.close();
  }
}

/** Folds the projection from position 0 to the end of `session` without any snapshot (what an as-of query costs without checkpoints); the events folded. */
async function foldFromStart<S>(log: EventLog, projection: Projection<S>, session: number): Promise<number> {
  const cursor = { projection, state: projection.initial as unknown, position: START };
  const target = streams.session(session);
  let folded = 0;
  for await (const page of log.readAllPages!(START, 1024)) {
    const end = page.findIndex((event) => event.stream === target && isEvent(event, 'SessionCompleted'));
    const part = end < 0 ? page : page.slice(0, end + 1);
    const failed = foldInto(cursor, part);
    if (failed !== undefined) throw failed;
    folded += part.length;
    if (end >= 0) return folded;
  }
  throw new Error(`session ${session} is not in the log`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** p50 and p99 rows of `query` at `count` seeded random completed sessions. */
async function latencies(name: string, count: number, query: (session: number) => Promise<number | undefined>, note: string): Promise<BenchRow[]> {
  const random = seededRandom(SEED);
  const times: number[] = [];
  const folded: number[] = [];
  for (let i = 0; i < count; i++) {
    const session = Math.floor(random() * SESSIONS);
    const started = performance.now();
    const events = await query(session);
    times.push(performance.now() - started);
    if (events !== undefined) folded.push(events);
  }
  const foldNote = folded.length === 0 ? note : `${note}; events folded p50 ${percentile(folded, 50)}, p99 ${percentile(folded, 99)}`;
  return [
    { ...medianRow('asOf', `${name}, p50`, 'ms', times, foldNote), value: percentile(times, 50) },
    { ...medianRow('asOf', `${name}, p99`, 'ms', times), value: percentile(times, 99) },
  ];
}

const suite: BenchSuite = {
  name: 'asOf',
  async run(): Promise<BenchRow[]> {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-asof-'));
    const shape = `${SESSIONS} sessions x ${ITEMS_PER_SESSION} items`;
    try {
      const tieredPath = join(dir, 'tiered.sqlite');
      const everyPath = join(dir, 'every.sqlite');
      await generate(tieredPath, RETENTION);
      // A retention of every session keeps one snapshot per projection per session.
      await generate(everyPath, SESSIONS);
      const rows: BenchRow[] = [];

      const tiered = snapshotStorage(tieredPath);
      const every = snapshotStorage(everyPath);
      const storage = (label: string, stored: { count: number; bytes: number }, note: string) => [
        { suite: 'asOf', name: `snapshots stored, ${label} (6 projections, ${shape})`, unit: 'snapshots', value: stored.count, runs: [stored.count], note },
        { suite: 'asOf', name: `snapshot bytes stored, ${label}`, unit: 'MB', value: stored.bytes / 1e6, runs: [stored.bytes / 1e6] },
      ];
      rows.push(...storage(`tiered retention K = ${RETENTION}`, tiered, `${(tiered.count / every.count).toFixed(3)} of one per session; bound 6 x K(1 + log2 n) = ${6 * RETENTION * (1 + Math.floor(Math.log2(SESSIONS)))}`));
      rows.push(...storage('one per session', every, 'what a log kept before the rule (retention applied on read only)'));

      const logs = { tiered: open(tieredPath), every: open(everyPath) };
      try {
        for (const projection of [auditProjection, ledgerProjection, transactionsProjection] as Array<Projection<unknown>>) {
          const asOf = (log: EventLog) => async (session: number) => (await stateAtSession(log, projection, session))!.folded;
          rows.push(...(await latencies(`${projection.name} as of a random session, tiered retention`, QUERIES, asOf(logs.tiered), `${QUERIES} seeded sessions, nearest kept snapshot then a fold`)));
          rows.push(...(await latencies(`${projection.name} as of a random session, one snapshot per session`, QUERIES, asOf(logs.every), 'the snapshot of the session itself')));
          rows.push(
            ...(await latencies(
              `${projection.name} as of a random session, folded from position 0`,
              QUERIES_FROM_0,
              (session) => foldFromStart(logs.tiered, projection, session),
              `${QUERIES_FROM_0} seeded sessions, no snapshot`,
            )),
          );
        }
      } finally {
        await Promise.all([logs.tiered.close(), logs.every.close()]);
      }
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
