import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'appendLoop.ts');
const dir = mkdtempSync(join(tmpdir(), 'fedlog-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ack {
  n: number;
  position: bigint;
}

/** Runs the append loop until it has acknowledged `killAfter` appends, then kills it with SIGKILL. */
function runAndKill(path: string, seed: number, killAfter: number): Promise<Map<string, Ack[]>> {
  return new Promise((resolve, reject) => {
    // node itself with the tsx loader (not the tsx wrapper, whose inner process would outlive the SIGKILL).
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks = new Map<string, Ack[]>();
    let count = 0;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [, stream, n, position] = line.split(' ');
        const list = acks.get(stream!) ?? [];
        list.push({ n: Number(n), position: BigInt(position!) });
        acks.set(stream!, list);
        if (++count === killAfter) child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`append loop exited on its own: ${stderr}`));
    });
  });
}

describe('crash safety of the sqlite log', () => {
  it('keeps every acknowledged append, as a clean prefix, across seeded SIGKILLs, and appends on', async () => {
    const path = join(dir, 'crash.sqlite');
    const random = seededRandom(20240501);
    let lastMaxPosition = 0n;
    for (let round = 0; round < 3; round++) {
      const killAfter = 20 + Math.floor(random() * 400);
      const acks = await runAndKill(path, round + 1, killAfter);

      const log = createSqliteEventLog(path);
      const all: RecordedEvent[] = [];
      for await (const event of log.readAll()) all.push(event);
      for (let i = 1; i < all.length; i++) expect(all[i - 1]!.position < all[i]!.position).toBe(true);
      for (const stream of ['loop-a', 'loop-b']) {
        const events = all.filter((e) => e.stream === stream);
        // A clean prefix of what was attempted: n = revision = 0, 1, 2, ... with no hole and no torn batch.
        events.forEach((e, i) => expect([e.revision, (e.data as { n: number }).n]).toEqual([i, i]));
        for (const ack of acks.get(stream) ?? []) {
          const event = events[ack.n];
          expect(event, `acknowledged ${stream} n=${ack.n} is missing after the crash`).toBeDefined();
          expect(event!.position).toBe(ack.position);
        }
      }
      // Positions keep growing across restarts.
      const maxPosition = all.at(-1)!.position;
      expect(maxPosition > lastMaxPosition).toBe(true);
      lastMaxPosition = maxPosition;
      // And the log takes appends again where it stopped.
      const head = all.filter((e) => e.stream === 'loop-a').length;
      const resumed = await log.append('loop-a', [{ type: 'Looped', data: { n: head } }], { expectedRevision: head - 1 });
      expect(resumed).toEqual({ nextExpectedRevision: head, position: maxPosition + 1n });
      await log.close();
    }
  });
});
