import { describe, expect, it } from 'vitest';
import { withHash } from '../../../../src/consensus/broadcast/unit.ts';
import { createScriptedPeer } from '../support/scriptedPeer.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';

describe('nothing leaves a node before it is durable', () => {
  it('does not answer a coordinate request with its own unit whose save is pending, so a crash cannot make it fork itself', async () => {
    const n = 4;
    // Every save takes 300 ms of virtual time to become durable; a crash loses what is pending.
    const sim = createSimulation({ n, seed: 71, saveDelayMs: 300, network: { latency: { min: 1, max: 5 } } });
    const prober = createScriptedPeer(sim, 3, { n });
    for (const i of [0, 1, 2]) sim.start(i);
    const node0 = sim.peers[0]!;
    // Peer 3 asks node 0 for its round-0 unit every 10 ms, whatever node 0 has saved.
    const probe = () => {
      prober.send(0, { kind: 'coordRequest', value: { creator: 0, round: 0 } });
      sim.clock.setTimer(10, probe);
    };
    probe();
    expect(await sim.clock.runUntil(() => node0.createdAt.has(0), 2_000)).toBe(true);
    await sim.clock.runFor(200);
    const seenOfNode0 = new Set<string>();
    let scanned = 0;
    const creatorZeroUnits = () => {
      for (; scanned < prober.received.length; scanned++) {
        const { from, message } = prober.received[scanned]!;
        if (from === 0 && message.kind === 'unit' && message.value.preUnit.creator === 0 && message.value.preUnit.round === 0) seenOfNode0.add(withHash(message.value).hash);
      }
      return seenOfNode0;
    };
    // Before the save resolved, nothing of round 0 left node 0.
    expect(creatorZeroUnits().size).toBe(0);
    expect(node0.backup).toHaveLength(0);

    sim.crash(0);
    sim.start(0);
    expect(await sim.clock.runUntil(() => creatorZeroUnits().size > 0 && sim.peers.slice(0, 3).every((p) => p.output.length >= 8), 20_000)).toBe(true);
    sim.stopAll();
    prober.stop();
    // Node 0 created round 0 twice (the first unit was never durable) but peers only ever saw one of them.
    expect(node0.created.get(0)).toHaveLength(2);
    expect(creatorZeroUnits().size).toBe(1);
    expect([...creatorZeroUnits()][0]).toBe(node0.created.get(0)![1]);
    for (const i of [1, 2]) expect(sim.peers[i]!.events.some((e) => e.kind === 'forkDetected')).toBe(false);
    expect(prefixConsistent(sim.peers.slice(0, 3).map((p) => p.output))).toBe(true);
  });
});
