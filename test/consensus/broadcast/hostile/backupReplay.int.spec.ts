import { describe, expect, it } from 'vitest';
import { BackupCorruptedError } from '../../../../src/consensus/broadcast/backup/backup.ts';
import { decodeUnit, encodeUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { createHashSigner } from '../support/hashSigner.ts';
import { createSimulation, type Simulation } from '../support/simulation.ts';
import { hexToBytes } from '../../../../src/domain/hashing.ts';
import { unitHash } from '../../../../src/consensus/broadcast/unit.ts';

const n = 4;

/** Runs four nodes, crashes node 1 with a full backup, and lets the test spoil that backup. */
async function crashedWithBackup(seed: number): Promise<Simulation> {
  const sim = createSimulation({ n, seed, network: { latency: { min: 1, max: 5 } } });
  for (let i = 0; i < n; i++) sim.start(i);
  expect(await sim.runUntilOrdered(30, [0, 1, 2, 3], 10_000)).toBe(true);
  sim.crash(1);
  return sim;
}

function failureOf(sim: Simulation, peer: number): unknown {
  const failed = sim.peers[peer]!.events.find((e) => e.kind === 'failed');
  return failed?.kind === 'failed' ? failed.error : undefined;
}

describe('replaying a backup', () => {
  it('refuses a backed-up unit of another session with a clear error, and creates nothing', async () => {
    const sim = await crashedWithBackup(81);
    const peer = sim.peers[1]!;
    // A validly signed unit of session 6 slipped into dag-7.
    const decoded = decodeUnit(peer.backup[5]!);
    if (!decoded.ok) throw new Error('fixture unit does not decode');
    const preUnit = { ...decoded.value.preUnit, session: 6n };
    peer.backup[5] = encodeUnit({ preUnit, signature: createHashSigner(preUnit.creator, n).sign(hexToBytes(unitHash(preUnit))) });
    const createdBefore = [...peer.created.values()].flat().length;
    sim.start(1);
    await sim.clock.runFor(500);
    sim.stopAll();
    const error = failureOf(sim, 1);
    expect(error).toBeInstanceOf(BackupCorruptedError);
    expect(String(error)).toMatch(/backup unit 5 .* belongs to session 6, not 7/);
    expect([...peer.created.values()].flat().length).toBe(createdBefore);
  });

  it('refuses a backup in which a unit comes before one of its parents', async () => {
    const sim = await crashedWithBackup(82);
    const peer = sim.peers[1]!;
    // Move the first unit of round 1 to the front: its round-0 parents now come after it.
    const index = peer.backup.findIndex((raw) => {
      const d = decodeUnit(raw);
      return d.ok && d.value.preUnit.round === 1;
    });
    const [moved] = peer.backup.splice(index, 1);
    peer.backup.unshift(moved!);
    sim.start(1);
    await sim.clock.runFor(500);
    sim.stopAll();
    const error = failureOf(sim, 1);
    expect(error).toBeInstanceOf(BackupCorruptedError);
    expect(String(error)).toMatch(/backup unit 0 \(creator \d, round 1\) names parent \(creator \d, round 0\), which is not saved before it/);
  });

  it('replays an intact backup and goes on ordering the same sequence', async () => {
    const sim = await crashedWithBackup(83);
    sim.start(1);
    expect(await sim.runUntilOrdered(60, [0, 1, 2, 3], 10_000)).toBe(true);
    sim.stopAll();
    expect(failureOf(sim, 1)).toBeUndefined();
    expect(sim.peers[1]!.output.slice(0, 60).map((u) => u.hash)).toEqual(sim.peers[0]!.output.slice(0, 60).map((u) => u.hash));
  });
});
