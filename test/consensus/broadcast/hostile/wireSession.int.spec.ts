import { describe, expect, it } from 'vitest';
import { broadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import { encodeWire, maxMessageBytes, MAX_UNIT_DATA_BYTES, WIRE_VERSION } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import { createScriptedPeer, preUnitAt, type ScriptedPeer } from '../support/scriptedPeer.ts';
import { createSimulation } from '../support/simulation.ts';

const n = 4;

function nonceAskedOf(peer: ScriptedPeer): bigint {
  const request = peer.received.find((r) => r.message.kind === 'newestUnitRequest');
  if (request?.message.kind !== 'newestUnitRequest') throw new Error(`peer ${peer.peer} was never asked`);
  return request.message.value.nonce;
}

describe('the wire envelope { version, session }', () => {
  it('drops messages of another session, answers none of them, and tells the engine once per peer and period', async () => {
    const sim = createSimulation({ n, seed: 91, network: { latency: { min: 1, max: 3 } } });
    const stranger = createScriptedPeer(sim, 3, { n, session: 6n });
    for (const i of [0, 1, 2]) sim.start(i);
    await sim.clock.runFor(300);
    const sentBefore = stranger.received.filter((r) => r.from === 0).length;
    // 100 requests and units of session 6 within 100 ms.
    for (let k = 0; k < 100; k++) {
      stranger.send(0, { kind: 'coordRequest', value: { creator: 1, round: 0 } });
      stranger.send(0, { kind: 'unit', value: stranger.sign(preUnitAt(3, 0, [undefined, undefined, undefined, undefined], { session: 6n })) });
    }
    await sim.clock.runFor(100);
    const node0 = sim.peers[0]!;
    expect(node0.node!.status().rejected.otherSession).toBe(200);
    expect(node0.otherSessions).toEqual([{ from: 3, session: 6n }]);
    // Only the ordinary traffic to peer 3 (rebroadcasts, newest-unit requests), no answer to a request.
    const answers = stranger.received.slice(sentBefore).filter((r) => r.from === 0 && r.message.kind === 'unit' && r.message.value.preUnit.creator === 1 && r.message.value.preUnit.round === 0);
    expect(answers).toHaveLength(0);
    expect(node0.verifications).toBeLessThan(200);
    // A later period reports the session again.
    await sim.clock.runFor(300);
    stranger.send(0, { kind: 'coordRequest', value: { creator: 1, round: 0 } });
    await sim.clock.runFor(10);
    expect(node0.otherSessions).toHaveLength(2);
    sim.stopAll();
  });

  it('counts a peer in the start-up check only once its answer checked out', async () => {
    const sim = createSimulation({ n, seed: 92, network: { latency: { min: 1, max: 3 } } });
    const [p1, p2, p3] = [1, 2, 3].map((p) => createScriptedPeer(sim, p, { n }));
    sim.start(0);
    const node0 = sim.peers[0]!;
    await sim.clock.runFor(50);
    const creation = () => node0.node!.status().creation;
    const ownUnit = preUnitAt(0, 0, [undefined, undefined, undefined, undefined]);
    const badlySigned = { ...p2!.sign(ownUnit, 0), signature: new Uint8Array(64).fill(9) };
    // An answer from the previous session, one with a forged own unit, one with somebody else's unit.
    p1!.send(0, { kind: 'newestUnitResponse', value: { nonce: nonceAskedOf(p1!), unit: undefined } }, 6n);
    p2!.send(0, { kind: 'newestUnitResponse', value: { nonce: nonceAskedOf(p2!), unit: badlySigned } });
    p3!.send(0, { kind: 'newestUnitResponse', value: { nonce: nonceAskedOf(p3!), unit: p3!.sign(preUnitAt(3, 0, [undefined, undefined, undefined, undefined])) } });
    await sim.clock.runFor(50);
    expect(creation()).toBe('waitingForPeers');
    expect(node0.created.size).toBe(0);
    // The same peers answer properly: two valid answers (threshold - 1) start creation.
    p1!.send(0, { kind: 'newestUnitResponse', value: { nonce: nonceAskedOf(p1!), unit: undefined } });
    await sim.clock.runFor(20);
    expect(creation()).toBe('waitingForPeers');
    p2!.send(0, { kind: 'newestUnitResponse', value: { nonce: nonceAskedOf(p2!), unit: undefined } });
    await sim.clock.runFor(20);
    expect(creation()).toBe('active');
    expect(node0.created.get(0)).toHaveLength(1);
    sim.stopAll();
  });

  it('drops a frame above the size limit before decoding it, and accepts the largest honest unit', async () => {
    const sim = createSimulation({ n, seed: 93, network: { latency: { min: 1, max: 3 } } });
    const sender = createScriptedPeer(sim, 3, { n });
    for (const i of [0, 1, 2]) sim.start(i);
    await sim.clock.runFor(100);
    const node0 = sim.peers[0]!;
    const limit = broadcastConfig({ n, peer: 0, session: 7n }).maxMessageBytes;
    expect(limit).toBe(maxMessageBytes(n));
    // A round-0 unit of peer 3 with the largest data DESIGN.md allows fits in a frame.
    const largest = sender.sign(preUnitAt(3, 0, [undefined, undefined, undefined, undefined], { data: new Uint8Array(MAX_UNIT_DATA_BYTES).fill(1) }));
    const largestFrame = encodeWire(7n, { kind: 'unit', value: largest });
    expect(largestFrame.length).toBeLessThan(limit);
    // An oversized frame: a well-formed envelope followed by junk, one byte over the limit.
    const oversized = new Uint8Array(limit + 1).fill(0xab);
    oversized.set(encodeWire(7n, { kind: 'coordRequest', value: { creator: 1, round: 0 } }).subarray(0, 10));
    const verificationsBefore = node0.verifications;
    for (let k = 0; k < 50; k++) sender.sendRaw(0, oversized);
    sender.sendRaw(0, largestFrame);
    await sim.clock.runFor(20);
    const status = node0.node!.status();
    expect(status.rejected.oversized).toBe(50);
    expect(status.rejected.undecodable).toBeUndefined();
    // Only the largest unit cost a verification (plus the honest traffic of those 20 ms).
    expect(node0.events.some((e) => e.kind === 'rejected' && e.from === 3 && e.reason !== 'oversized')).toBe(false);
    expect(node0.verifications - verificationsBefore).toBeLessThan(20);
    sim.stopAll();
  });

  it('drops a message of another wire version', async () => {
    const sim = createSimulation({ n, seed: 94, network: { latency: { min: 1, max: 3 } } });
    const sender = createScriptedPeer(sim, 3, { n });
    for (const i of [0, 1, 2]) sim.start(i);
    await sim.clock.runFor(100);
    const frame = encodeWire(7n, { kind: 'coordRequest', value: { creator: 1, round: 0 } });
    frame[0] = WIRE_VERSION + 1;
    const before = sender.received.length;
    sender.sendRaw(0, frame);
    await sim.clock.runFor(5);
    expect(sim.peers[0]!.node!.status().rejected.wrongVersion).toBe(1);
    expect(sender.received.slice(before).some((r) => r.from === 0 && r.message.kind === 'unit' && r.message.value.preUnit.creator === 1 && r.message.value.preUnit.round === 0)).toBe(false);
    sim.stopAll();
  });
});
