/**
 * The atomic broadcast on the simulated network (virtual clock), n = 4:
 * - throughput with zero latency and round delay 0 (wall-clock rounds/s and ordered units/s), with
 *   the cheap simulation signer and with real BIP-340 (noble);
 * - latency with a 50 ms round delay and 1 ms links: rounds from a unit's creation to its ordering.
 */
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { unitSignerFromKeychain, type UnitSigner } from '../../src/consensus/broadcast/signer.ts';
import { createKeychain } from '../../src/domain/keychain.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { sha256 } from '../../src/domain/hashing.ts';
import { createHashSigner } from '../../test/consensus/broadcast/support/hashSigner.ts';
import { createSimulation } from '../../test/consensus/broadcast/support/simulation.ts';

const n = 4;
const peers = [0, 1, 2, 3];

function nobleSigners(): (peer: number) => UnitSigner {
  const secrets = peers.map((i) => sha256(new TextEncoder().encode(`bench-key-${i}`)));
  const keys = new Map(secrets.map((s, i) => [i, nobleBackend.publicKey(s)]));
  const signers = secrets.map((secretKey) => unitSignerFromKeychain(createKeychain({ federation: keys, secretKey, backend: nobleBackend })));
  return (peer) => signers[peer]!;
}

async function throughput(rounds: number, signer: (peer: number) => UnitSigner): Promise<{ roundsPerSecond: number; unitsPerSecond: number }> {
  const sim = createSimulation({ n, seed: 1, signer, config: { roundDelayMs: 0 }, network: { latency: { min: 0, max: 0 } } });
  const started = performance.now();
  for (const i of peers) sim.start(i);
  const done = await sim.clock.runUntil(() => peers.every((i) => (sim.peers[i]!.node?.status().round ?? 0) >= rounds), 10_000_000);
  const seconds = (performance.now() - started) / 1000;
  const ordered = sim.peers[0]!.output.length;
  sim.stopAll();
  if (!done) throw new Error('throughput run did not reach its round');
  return { roundsPerSecond: rounds / seconds, unitsPerSecond: ordered / seconds };
}

async function latencyInRounds(units: number): Promise<number> {
  const sim = createSimulation({ n, seed: 2, config: { roundDelayMs: 50 }, network: { latency: { min: 1, max: 1 } } });
  for (const i of peers) sim.start(i);
  const lags: number[] = [];
  let seen = 0;
  await sim.clock.runUntil(() => {
    const output = sim.peers[0]!.output;
    for (; seen < output.length; seen++) {
      const unit = output[seen]!;
      // Lag measured at the unit's own creator: its newest round when it learns the unit is ordered.
      if (unit.creator === 0) lags.push(sim.peers[0]!.node!.status().round - unit.round);
    }
    return lags.length >= units;
  }, 600_000);
  sim.stopAll();
  return lags.reduce((a, b) => a + b, 0) / lags.length;
}

const suite: BenchSuite = {
  name: 'broadcast',
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const fast: { roundsPerSecond: number; unitsPerSecond: number }[] = [];
    rows.push(
      await repeat('broadcast', 'n=4, 0 ms links, delay 0, simulation signer: rounds', 'rounds/s', 3, async () => {
        const r = await throughput(1500, (p) => createHashSigner(p, n));
        fast.push(r);
        return r.roundsPerSecond;
      }),
    );
    rows.push({ suite: 'broadcast', name: 'n=4, 0 ms links, delay 0, simulation signer: ordered units', unit: 'units/s', value: median(fast.map((r) => r.unitsPerSecond)), runs: fast.map((r) => r.unitsPerSecond) });
    const noble: { roundsPerSecond: number; unitsPerSecond: number }[] = [];
    const signer = nobleSigners();
    rows.push(
      await repeat('broadcast', 'n=4, 0 ms links, delay 0, BIP-340 (noble): rounds', 'rounds/s', 3, async () => {
        const r = await throughput(40, signer);
        noble.push(r);
        return r.roundsPerSecond;
      }),
    );
    rows.push({ suite: 'broadcast', name: 'n=4, 0 ms links, delay 0, BIP-340 (noble): ordered units', unit: 'units/s', value: median(noble.map((r) => r.unitsPerSecond)), runs: noble.map((r) => r.unitsPerSecond) });
    rows.push(await repeat('broadcast', 'n=4, 50 ms delay, 1 ms links: creation to ordering', 'rounds', 3, () => latencyInRounds(100), 'AlephBFT optimistic case: about 4 rounds'));
    return rows;
  },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export default suite;
