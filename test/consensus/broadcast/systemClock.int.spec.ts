import { describe, expect, it } from 'vitest';
import { startBroadcastNode, type OrderedUnit } from '../../../src/consensus/broadcast/broadcastNode.ts';
import { systemClock } from '../../../src/consensus/broadcast/clock.ts';
import { broadcastConfig } from '../../../src/consensus/broadcast/config.ts';
import { createSimulatedNetwork } from '../../../src/consensus/broadcast/network/simulatedNetwork.ts';
import { createHashSigner } from './support/hashSigner.ts';
import { prefixConsistent } from './support/simulation.ts';

describe('broadcast on real timers', () => {
  it('orders units with the system clock and stops every timer on abort', async () => {
    const n = 4;
    const net = createSimulatedNetwork({ n, clock: systemClock, seed: 1, latency: { min: 0, max: 2 } });
    const controller = new AbortController();
    const outputs: OrderedUnit[][] = Array.from({ length: n }, () => []);
    const completed: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const node = startBroadcastNode({
        config: broadcastConfig({ n, peer: i, session: 1n, roundDelayMs: 5 }),
        signer: createHashSigner(i, n),
        network: net.endpoint(i),
        clock: systemClock,
        saver: { save: () => Promise.resolve() },
        data: (round) => new Uint8Array([i, round & 0xff]),
        signal: controller.signal,
      });
      node.ordered$.subscribe({ next: (u) => outputs[i]!.push(u), complete: () => completed.push(true) });
    }
    const deadline = Date.now() + 10_000;
    while (outputs.some((o) => o.length < 40) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    expect(outputs.every((o) => o.length >= 40)).toBe(true);
    expect(prefixConsistent(outputs)).toBe(true);
    expect(completed).toHaveLength(n);
    const sent = net.stats.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(net.stats.sent).toBe(sent);
  });
});
