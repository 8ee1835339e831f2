import { describe, expect, it } from 'vitest';
import { BackupCorruptedError, createSaveQueue, readBackup } from '../../../../src/consensus/broadcast/backup/backup.ts';
import { combinedHash, encodeUnit, type PreUnit } from '../../../../src/consensus/broadcast/unit.ts';

const saved = (creator: number, round: number, parents: (number | undefined)[], session = 3n) =>
  encodeUnit({ preUnit: { creator, round, session, controlHash: { parents, combinedHash: combinedHash([]) }, data: new Uint8Array() } satisfies PreUnit, signature: new Uint8Array(64) });
const none = [undefined, undefined, undefined, undefined];

describe('unit backup', () => {
  it('runs continuations in save order, each only after its own save resolved', async () => {
    const log: string[] = [];
    const pending: (() => void)[] = [];
    const queue = createSaveQueue(
      {
        save(unit) {
          log.push(`save ${unit[0]}`);
          return new Promise<void>((resolve) => pending.push(resolve));
        },
      },
      () => log.push('failed'),
    );
    queue.enqueue(new Uint8Array([1]), () => log.push('use 1'));
    queue.enqueue(new Uint8Array([2]), () => log.push('use 2'));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['save 1']);
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['save 1', 'use 1', 'save 2']);
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['save 1', 'use 1', 'save 2', 'use 2']);
  });

  it('never uses a unit whose save failed, nor any later one', async () => {
    const used: number[] = [];
    const failures: unknown[] = [];
    let call = 0;
    const queue = createSaveQueue({ save: () => (++call === 2 ? Promise.reject(new Error('disk full')) : Promise.resolve()) }, (e) => failures.push(e));
    for (const i of [1, 2, 3]) queue.enqueue(new Uint8Array([i]), () => used.push(i));
    await new Promise((r) => setImmediate(r));
    expect(used).toEqual([1]);
    expect(failures).toHaveLength(1);
  });

  it('refuses a backup that does not decode', () => {
    expect(() => readBackup([new Uint8Array([0xff, 0x00])], { session: 0n, n: 4 })).toThrow(BackupCorruptedError);
  });

  it('reads units saved after their parents', () => {
    const units = readBackup([saved(0, 0, none), saved(1, 0, none), saved(2, 0, none), saved(1, 1, [0, 0, 0, undefined])], { session: 3n, n: 4 });
    expect(units.map((u) => [u.preUnit.creator, u.preUnit.round])).toEqual([[0, 0], [1, 0], [2, 0], [1, 1]]);
  });

  it('refuses a unit of another session', () => {
    expect(() => readBackup([saved(0, 0, none), saved(1, 0, none, 2n)], { session: 3n, n: 4 })).toThrow(/backup unit 1 \(creator 1, round 0\) belongs to session 2, not 3/);
  });

  it('refuses a unit saved before one of its parents', () => {
    expect(() => readBackup([saved(0, 0, none), saved(1, 0, none), saved(1, 1, [0, 0, 0, undefined])], { session: 3n, n: 4 })).toThrow(BackupCorruptedError);
  });

  it('refuses a unit that does not fit the federation', () => {
    expect(() => readBackup([saved(5, 0, none)], { session: 3n, n: 4 })).toThrow(/does not fit a federation of 4/);
  });
});
