/**
 * `fedlog replay` speed over a realistic single-guardian SQLite log: 20 sessions of deposits and
 * 1-input claim/spend/withdraw transactions with real BIP-340 signatures, written once per run by
 * the fixture the projection tests use (items run through the domain ledger, real headers, real
 * guardian signatures, the engine's event shapes). Two logs:
 *   - consensus events only (no checkpoints): replay = rebuild all six projections, recompute every
 *     header, verify every session signature (target >= 150,000 events/s);
 *   - the same with a checkpoint of every projection after every session (checkpointRetention
 *     does not shrink an append-only log, so replay reads and checks every snapshot ever taken);
 * on one thread (`fedlog replay`'s choice for logs this size) and on two;
 * plus the projection host's start from 0 (catch-up only) and from the newest checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { replay } from '../../src/projections/replay/replay.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import type { EventLog } from '../../src/streams/eventLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { writeSessionLog } from '../../test/projections/sessionLogFixture.ts';

const SESSIONS = 20;
const ITEMS_PER_SESSION = Number(process.env.FEDLOG_BENCH_REPLAY_ITEMS ?? 1_000);
const RUNS = 3;

const open = (path: string): EventLog => withEventSchemas(createSqliteEventLog(path), { guardian: 0 });

async function generate(path: string, checkpoints: boolean): Promise<number> {
  const log = open(path);
  // A retention of every session keeps every checkpoint (checkpointTiers.ts): replay reads and checks them all.
  const host = checkpoints ? await startProjections(log, { retention: SESSIONS }) : undefined;
  const started = performance.now();
  const fixture = await writeSessionLog(log, {
    sessions: SESSIONS,
    itemsPerSession: ITEMS_PER_SESSION,
    seed: 42,
    ...(host === undefined
      ? {}
      : {
          afterSession: async (session: number, position: bigint) => {
            await host.waitFor(position);
            await host.checkpoint(session);
          },
        }),
  });
  await host?.stop();
  await log.close();
  console.log(`generated ${fixture.events} consensus events${checkpoints ? ' + checkpoints' : ''} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return fixture.events;
}

/** `path` given: two threads (`fedlog replay --threads 2`), a worker opening the same file. */
async function replayRate(log: EventLog, path?: string): Promise<number> {
  const report = await replay(log, path === undefined ? {} : { parallel: { location: { kind: 'sqlite', path }, guardian: 0 } });
  if (!report.ok) throw new Error(`replay of an honest log found problems: ${JSON.stringify(report.problems.slice(0, 3))}`);
  return report.events / (report.durationMs / 1000);
}

const suite: BenchSuite = {
  name: 'replay',
  async run(): Promise<BenchRow[]> {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-replay-'));
    const shape = `${SESSIONS} sessions x ${ITEMS_PER_SESSION} items`;
    try {
      const plainPath = join(dir, 'plain.sqlite');
      const events = await generate(plainPath, false);
      const plain = open(plainPath);
      const rows: BenchRow[] = [];
      rows.push(await repeat('replay', `replay from 0, no checkpoints, one thread (${shape})`, 'events/s', RUNS, () => replayRate(plain), 'target >= 150,000; fedlog replay default below 40,000 events'));
      rows.push(await repeat('replay', `replay from 0, no checkpoints, two threads (${shape})`, 'events/s', RUNS, () => replayRate(plain, plainPath), 'fedlog replay --threads 2'));
      rows.push(
        await repeat('replay', 'projection host start from 0 (catch-up only, no verification)', 'events/s', RUNS, async () => {
          const started = performance.now();
          const host = await startProjections(plain, { retention: 0 });
          const seconds = (performance.now() - started) / 1000;
          await host.stop();
          return events / seconds;
        }),
      );
      await plain.close();

      const checkpointedPath = join(dir, 'checkpointed.sqlite');
      await generate(checkpointedPath, true);
      const checkpointed = open(checkpointedPath);
      rows.push(await repeat('replay', `replay from 0 with a checkpoint per session, one thread (${shape})`, 'events/s', RUNS, () => replayRate(checkpointed), 'every snapshot re-hashed and compared'));
      rows.push(await repeat('replay', `replay from 0 with a checkpoint per session, two threads (${shape})`, 'events/s', RUNS, () => replayRate(checkpointed, checkpointedPath), 'the calling thread reads every snapshot once and hands the ledger worker its hashes'));
      rows.push(
        await repeat('replay', 'projection host start from newest checkpoint', 'ms', RUNS, async () => {
          const started = performance.now();
          const host = await startProjections(checkpointed, { retention: 1 });
          const ms = performance.now() - started;
          await host.stop();
          return ms;
        }),
      );
      await checkpointed.close();
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
