import { describe, expect, it } from 'vitest';
import { broadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import { createScriptedPeer } from '../support/scriptedPeer.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';

const n = 4;
const honest = [0, 1, 2];

describe('a peer that only sends requests', () => {
  it('gets a bounded number of answers however fast it asks, and the honest nodes go on agreeing', async () => {
    const sim = createSimulation({ n, seed: 121, network: { latency: { min: 1, max: 5 } } });
    const asker = createScriptedPeer(sim, 3, { n });
    for (const i of honest) sim.start(i);
    await sim.clock.runFor(1_000);
    const node0 = sim.peers[0]!;
    const { peerBudget } = broadcastConfig({ n, peer: 0, session: 7n });
    const answersBefore = asker.received.filter((r) => r.from === 0).length;
    const orderedBefore = node0.output.length;
    // 100 requests every 10 ms for 2 s (20,000), all for units node 0 holds, plus parents and newest-unit requests.
    const held = node0.output.slice(0, 40);
    let k = 0;
    const ask = () => {
      for (let j = 0; j < 100; j++, k++) {
        const unit = held[k % held.length]!;
        if (j % 3 === 0) asker.send(0, { kind: 'coordRequest', value: { creator: unit.creator, round: unit.round } });
        else if (j % 3 === 1) asker.send(0, { kind: 'parentsRequest', value: { hash: Uint8Array.from(Buffer.from(unit.hash, 'hex')) } });
        else asker.send(0, { kind: 'newestUnitRequest', value: { nonce: BigInt(k) } });
      }
      if (sim.clock.now() < start + 2_000) sim.clock.setTimer(10, ask);
    };
    const start = sim.clock.now();
    ask();
    await sim.clock.runFor(2_100);
    const answers = asker.received.slice(answersBefore).filter((r) => r.from === 0);
    const unitsSent = answers.reduce((sum, r) => sum + (r.message.kind === 'parentsResponse' ? r.message.value.parents.length : 1), 0);
    const status = node0.node!.status();
    sim.stopAll();
    asker.stop();
    expect(k).toBe(20_100);
    // The bucket (its burst plus 2.1 s of refill, in units sent), plus what node 0 broadcasts to every
    // peer anyway (its own units, under 50 a second, and rebroadcasts); the rest is refused.
    expect(unitsSent).toBeLessThanOrEqual(peerBudget.burst + 2.1 * peerBudget.perSecond + 3 * 2.1 * 50);
    expect(status.answersRefused).toBeGreaterThan(15_000);
    expect(node0.output.length).toBeGreaterThan(orderedBefore + 200);
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
  });
});
