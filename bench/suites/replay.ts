/**
 * `fedlog replay` speed: a realistic single-guardian log (20 sessions of deposits and 1-input
 * claim/spend/withdraw transactions with real BIP-340 signatures, a checkpoint of every projection
 * after each session) is written once into a SQLite file; then
 *   - replay from position 0: rebuild all six projections, recompute every header, verify every
 *     session signature and compare every stored snapshot (events/s, target >= 150,000);
 *   - the projection host's start from 0 (catch-up only, no verification) and from the newest checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { replay } from '../../src/projections/replay.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { writeSessionLog } from '../../test/projections/sessionLogFixture.ts';

const SESSIONS = 20;
const ITEMS_PER_SESSION = Number(process.env.FEDLOG_BENCH_REPLAY_ITEMS ?? 1_000);

const suite: BenchSuite = {
  name: 'replay',
  async run(): Promise<BenchRow[]> {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-bench-replay-'));
    const path = join(dir, 'log.sqlite');
    try {
      const writing = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
      const host = await startProjections(writing, { retention: 1 });
      const generated = performance.now();
      const fixture = await writeSessionLog(writing, {
        sessions: SESSIONS,
        itemsPerSession: ITEMS_PER_SESSION,
        seed: 42,
        afterSession: async (session, position) => {
          await host.waitFor(position);
          await host.checkpoint(session);
        },
      });
      await host.stop();
      await writing.close();
      const generateSeconds = (performance.now() - generated) / 1000;
      console.log(`generated ${fixture.events} consensus events (+ checkpoints) in ${generateSeconds.toFixed(1)} s at ${path}`);

      const log = withEventSchemas(createSqliteEventLog(path), { guardian: 0 });
      let events = 0;
      const replayRow = await repeat('replay', `replay from 0 (${SESSIONS} sessions x ${ITEMS_PER_SESSION} items)`, 'events/s', 3, async () => {
        const report = await replay(log);
        if (!report.ok) throw new Error(`replay of an honest log found problems: ${JSON.stringify(report.problems.slice(0, 3))}`);
        events = report.events;
        return report.events / (report.durationMs / 1000);
      }, 'target >= 150,000');
      const catchUp = await repeat('replay', 'projection host start from 0 (catch-up, no verification)', 'events/s', 3, async () => {
        const started = performance.now();
        const h = await startProjections(log, { retention: 0 });
        const seconds = (performance.now() - started) / 1000;
        await h.stop();
        return events / seconds;
      });
      const fromCheckpoint = await repeat('replay', 'projection host start from newest checkpoint', 'ms', 3, async () => {
        const started = performance.now();
        const h = await startProjections(log, { retention: 1 });
        const ms = performance.now() - started;
        await h.stop();
        return ms;
      });
      await log.close();
      return [replayRow, catchUp, fromCheckpoint];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
