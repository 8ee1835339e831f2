import { describe, expect, it } from 'vitest';
import { unitSignerFromKeychain } from '../../../src/consensus/broadcast/signer.ts';
import { createKeychain } from '../../../src/domain/keychain.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { sha256 } from '../../../src/domain/hashing.ts';
import { corruptSignatures } from './support/byzantine.ts';
import { createSimulation, prefixConsistent } from './support/simulation.ts';

describe('broadcast with real BIP-340 signatures', () => {
  it('agrees on the order and rejects a unit whose signature was corrupted on one link', async () => {
    const n = 4;
    const secrets = Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`broadcast-test-key-${i}`)));
    const keys = new Map(secrets.map((secret, i) => [i, nobleBackend.publicKey(secret)]));
    const signers = secrets.map((secretKey) => unitSignerFromKeychain(createKeychain({ federation: keys, secretKey, backend: nobleBackend })));
    expect(signers.map((s) => s.peer)).toEqual([0, 1, 2, 3]);
    const sim = createSimulation({ n, seed: 41, signer: (i) => signers[i]!, network: { latency: { min: 1, max: 10 }, tamper: corruptSignatures(2, 0) } });
    for (let i = 0; i < n; i++) sim.start(i);
    expect(await sim.runUntilOrdered(24, [0, 1, 2, 3], 20_000)).toBe(true);
    sim.stopAll();
    expect(prefixConsistent(sim.peers.map((p) => p.output))).toBe(true);
    expect(sim.peers[0]!.events.some((e) => e.kind === 'rejected' && e.from === 2 && e.reason === 'badSignature')).toBe(true);
    expect(sim.peers[0]!.output.some((u) => u.creator === 2)).toBe(true);
  });
});
