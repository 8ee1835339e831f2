import { describe, expect, it } from 'vitest';
import { broadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import type { SignedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { createScriptedPeer, preUnitAt } from '../support/scriptedPeer.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';

const n = 4;
const honest = [0, 1, 2];

describe('unit floods', () => {
  it('replayed copies of valid units cost no signature verification and no memory', async () => {
    const sim = createSimulation({ n, seed: 131, network: { latency: { min: 1, max: 5 } } });
    const relay = createScriptedPeer(sim, 3, { n });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(1_000);
    const node0 = sim.peers[0]!;
    // Everything node 0 itself sent peer 3 so far, sent back 50 times.
    const copies: SignedUnit[] = relay.received.flatMap((r) => (r.message.kind === 'unit' ? [r.message.value] : []));
    expect(copies.length).toBeGreaterThan(40);
    const verificationsBefore = node0.verifications;
    const dagBefore = node0.node!.status().dagSize;
    for (let k = 0; k < 50; k++) for (const unit of copies) relay.send(0, { kind: 'unit', value: unit });
    await sim.clock.runFor(100);
    const status = node0.node!.status();
    sim.stopAll();
    relay.stop();
    // Only the honest traffic of those 100 ms was verified (under 5 rounds of 3 creators).
    expect(node0.verifications - verificationsBefore).toBeLessThan(20);
    expect(status.dagSize - dagBefore).toBeLessThan(20);
    expect(status.pendingRequests).toBeLessThan(10);
  });

  it('junk signatures cost at most the sender\'s verification budget, and the honest nodes progress', async () => {
    const sim = createSimulation({ n, seed: 132, network: { latency: { min: 1, max: 5 } } });
    const forger = createScriptedPeer(sim, 3, { n });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(500);
    const node0 = sim.peers[0]!;
    const { peerBudget } = broadcastConfig({ n, peer: 0, session: 7n });
    const verificationsBefore = node0.verifications;
    const orderedBefore = node0.output.length;
    // 10,000 distinct round-0 units "by peer 1" every 100 ms for 1 s, each with a junk signature.
    let sent = 0;
    const flood = () => {
      for (let k = 0; k < 1_000; k++, sent++) {
        const preUnit = preUnitAt(1, 0, [undefined, undefined, undefined, undefined], { data: new Uint8Array([sent >> 16, sent >> 8, sent & 0xff]) });
        forger.send(0, { kind: 'unit', value: { preUnit, signature: new Uint8Array(64).fill(sent & 0xff) } });
      }
      if (sent < 10_000) sim.clock.setTimer(100, flood);
    };
    flood();
    await sim.clock.runFor(1_000);
    const status = node0.node!.status();
    sim.stopAll();
    forger.stop();
    expect(sent).toBe(10_000);
    // The forger's bucket (burst + 1 s of refill) plus the honest traffic of that second (~150 units).
    const verified = node0.verifications - verificationsBefore;
    expect(verified).toBeLessThan(peerBudget.burst + peerBudget.perSecond + 300);
    expect(status.rejected.overBudget).toBeGreaterThan(10_000 - peerBudget.burst - peerBudget.perSecond);
    expect(status.dagSize).toBeLessThan(node0.output.length + 20);
    expect(node0.output.length).toBeGreaterThan(orderedBefore + 100);
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
  });
});
