import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectionStateHash } from '../../src/projections/projection.ts';
import { startProjections } from '../../src/projections/projectionHost.ts';
import { replay } from '../../src/projections/replay/replay.ts';
import { standardProjections } from '../../src/projections/standardProjections.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import { writeSessionLog, checkpointEachSession } from './sessionLogFixture.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('projections over a SQLite log across a restart', () => {
  it('resume from the checkpoints in the file and agree with a rebuild and with replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-projections-'));
    dirs.push(dir);
    const path = join(dir, 'log.sqlite');
    const open = () => withEventSchemas(createSqliteEventLog(path), { guardian: 0 });

    const first = open();
    // Retention 3 keeps the checkpoints of all 3 sessions (checkpointTiers.ts), so replay compares each.
    const host = await startProjections(first, { retention: 3 });
    await writeSessionLog(first, {
      sessions: 3,
      itemsPerSession: 8,
      seed: 21,
      afterSession: checkpointEachSession(host),
    });
    const before = new Map(standardProjections().map((p) => [p.name, projectionStateHash(p, host.state(p))]));
    await host.stop();
    await first.close();

    const reopened = open();
    const resumed = await startProjections(reopened, { retention: 1 });
    const rebuilt = await startProjections(reopened, { retention: 0 });
    const report = await replay(reopened);
    for (const p of standardProjections()) {
      expect(projectionStateHash(p, resumed.state(p)), p.name).toBe(before.get(p.name));
      expect(projectionStateHash(p, rebuilt.state(p)), p.name).toBe(before.get(p.name));
      expect(report.projections.find((r) => r.name === p.name)?.stateHash, p.name).toBe(before.get(p.name));
      expect(resumed.status().find((s) => s.name === p.name)?.newestCheckpoint?.session).toBe(2);
    }
    expect(report.ok).toBe(true);
    expect(report.snapshotsChecked).toBe(3 * standardProjections().length);
    await Promise.all([resumed.stop(), rebuilt.stop()]);
    await reopened.close();
  });
});
