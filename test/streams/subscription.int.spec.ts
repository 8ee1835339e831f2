import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventLog, Position } from '../../src/streams/eventLog.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { createSqliteEventLog } from '../../src/streams/sqliteEventLog.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedlog-subscription-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const adapters: [string, () => EventLog][] = [
  ['memory', () => createMemoryEventLog()],
  ['sqlite file', () => createSqliteEventLog(join(dir, 'log.sqlite'))],
];

describe.each(adapters)('subscription under a concurrent producer (%s)', (_name, open) => {
  it('delivers 100,000 live-appended events after a catch-up, each exactly once, in position order', async () => {
    const log = open();
    const backlog = 20_000;
    const live = 100_000;
    const random = seededRandom(0x5eed);
    const batchOf = (from: number, size: number) => Array.from({ length: size }, (_, k) => ({ type: 'Counted', data: { n: from + k } }));
    for (let n = 0; n < backlog; n += 1000) await log.append('counter', batchOf(n, 1000));

    let seen = 0;
    let lastPosition: Position = 0n;
    let failure: string | undefined;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const subscription = log.subscribe().subscribe({
      next: (event) => {
        const n = (event.data as { n: number }).n;
        if (failure === undefined && (n !== seen || event.revision !== seen || event.position <= lastPosition)) {
          failure = `expected n=${seen} after position ${lastPosition}, got n=${n} revision=${event.revision} at ${event.position}`;
        }
        seen += 1;
        lastPosition = event.position;
        if (seen === backlog + live) resolveDone();
      },
      error: (error: unknown) => {
        failure = String(error);
        resolveDone();
      },
    });

    // The producer starts while the subscriber is still catching up; seeded batch sizes from 1 to 200.
    let produced = backlog;
    while (produced < backlog + live) {
      const size = Math.min(1 + Math.floor(random() * 200), backlog + live - produced);
      await log.append('counter', batchOf(produced, size), { expectedRevision: produced - 1 });
      produced += size;
    }
    await done;
    subscription.unsubscribe();
    expect(failure).toBeUndefined();
    expect(seen).toBe(backlog + live);
    await log.close();
  });
});
