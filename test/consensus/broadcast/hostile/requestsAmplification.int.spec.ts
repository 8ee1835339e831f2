import { describe, expect, it } from 'vitest';
import { broadcastConfig, maxRound } from '../../../../src/consensus/broadcast/config.ts';
import { createScriptedPeer, preUnitAt } from '../support/scriptedPeer.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';

const n = 4;
const honest = [0, 1, 2];

describe('request amplification by a byzantine peer', () => {
  it('a flood of validly signed units for every round up to maxRound leaves few standing requests and a bounded request rate', async () => {
    const sim = createSimulation({ n, seed: 101, network: { latency: { min: 1, max: 5 } } });
    const byzantine = createScriptedPeer(sim, 3, { n });
    const config = broadcastConfig({ n, peer: 0, session: 7n, roundDelayMs: 20 });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(200);
    // One tiny unit per round 1 .. maxRound, each naming every creator's unit one round below: none of those exist yet.
    const flood = Array.from({ length: maxRound(config) }, (_, k) => byzantine.sign(preUnitAt(3, k + 1, [k, k, k, k])));
    const sendFlood = () => {
      for (const unit of flood) for (const to of honest) byzantine.send(to, { kind: 'unit', value: unit });
    };
    sendFlood();
    await sim.clock.runFor(1_000);
    // The flood again, as the honest DAG moves up: each resend lands a window higher.
    sendFlood();
    const sentBefore = honest.map((i) => sim.peers[i]!.node!.status().requestsSent);
    const orderedBefore = sim.peers[0]!.output.length;
    let peakPending = 0;
    const watch = () => {
      for (const i of honest) peakPending = Math.max(peakPending, sim.peers[i]!.node!.status().pendingRequests);
      sim.clock.setTimer(50, watch);
    };
    watch();
    await sim.clock.runFor(5_000);
    const statuses = honest.map((i) => sim.peers[i]!.node!.status());
    sim.stopAll();
    byzantine.stop();

    // Before: 4,599 waiting units, 13,797 standing requests, retried forever. Now a window's worth at most.
    expect(peakPending).toBeLessThanOrEqual(config.maxRequestsPerPeer + 3 * config.maxRoundsAhead);
    for (const [k, status] of statuses.entries()) {
      // Of the 9,198 flood units each node got, all but a window's worth were dropped: beyond the
      // window, or once the byzantine peer's verification budget was spent.
      expect((status.rejected.roundTooFarAhead ?? 0) + (status.rejected.overBudget ?? 0)).toBeGreaterThan(9_000);
      // Checking every flood unit's signature would be over 9,198 verifications on its own.
      expect(sim.peers[honest[k]!]!.verifications).toBeLessThan(4_000);
    }
    const perSecond = statuses.map((s, k) => (s.requestsSent - sentBefore[k]!) / 5);
    expect(Math.max(...perSecond)).toBeLessThan(200);
    // The honest nodes kept ordering, and agree.
    expect(sim.peers[0]!.output.length).toBeGreaterThan(orderedBefore + 300);
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
  });

  it('charges standing requests to the peer whose units caused them, and drops its units beyond its share', async () => {
    const maxRequestsPerPeer = 20;
    const sim = createSimulation({ n, seed: 103, config: { maxRequestsPerPeer }, network: { latency: { min: 1, max: 5 } } });
    const byzantine = createScriptedPeer(sim, 3, { n });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(200);
    const node0 = sim.peers[0]!;
    // Every 100 ms, the next 40 rounds above node 0's DAG, each naming parents nobody has yet.
    const push = () => {
      const top = node0.node!.status().round;
      for (let r = top + 1; r <= top + 40; r++) byzantine.send(0, { kind: 'unit', value: byzantine.sign(preUnitAt(3, r, [r - 1, r - 1, r - 1, r - 1], { data: new Uint8Array([r & 0xff, 7]) })) });
      sim.clock.setTimer(100, push);
    };
    push();
    let peakPending = 0;
    const watch = () => {
      peakPending = Math.max(peakPending, node0.node!.status().pendingRequests);
      sim.clock.setTimer(20, watch);
    };
    watch();
    const orderedBefore = node0.output.length;
    await sim.clock.runFor(3_000);
    sim.stopAll();
    byzantine.stop();
    // The byzantine peer's share, and the few an honest round needs now and then.
    expect(peakPending).toBeLessThanOrEqual(maxRequestsPerPeer + 2 * n);
    expect(node0.events.some((e) => e.kind === 'rejected' && e.from === 3 && e.reason === 'overBudget' && e.detail === 'requests')).toBe(true);
    expect(node0.events.some((e) => e.kind === 'rejected' && e.from !== 3 && e.reason === 'overBudget')).toBe(false);
    expect(node0.output.length).toBeGreaterThan(orderedBefore + 200);
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
  });

  it('rejects a round-0 unit whose control hash is not the hash of no parents, without asking anyone for its parents', async () => {
    const sim = createSimulation({ n, seed: 102, network: { latency: { min: 1, max: 5 } } });
    const byzantine = createScriptedPeer(sim, 3, { n });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(100);
    const lying = byzantine.sign(preUnitAt(3, 0, [undefined, undefined, undefined, undefined], { parentHashes: ['ab'.repeat(32)] }));
    byzantine.send(0, { kind: 'unit', value: lying });
    await sim.clock.runFor(3_000);
    const status = sim.peers[0]!.node!.status();
    sim.stopAll();
    expect(status.rejected.badControlHash).toBe(1);
    // Before, it waited forever and its "parents" were asked for every 2 s.
    expect(status.pendingRequests).toBe(0);
  });
});
