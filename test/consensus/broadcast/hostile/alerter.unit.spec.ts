import { describe, expect, it } from 'vitest';
import { alertHash, type Alert } from '../../../../src/consensus/broadcast/alerts/alert.ts';
import { createAlerter, type Alerter } from '../../../../src/consensus/broadcast/alerts/alerter.ts';
import { broadcastConfig, maxRound } from '../../../../src/consensus/broadcast/config.ts';
import { unitStructureRejection, validateUnit } from '../../../../src/consensus/broadcast/dag/validation.ts';
import type { BroadcastMessage } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import { withHash } from '../../../../src/consensus/broadcast/unit.ts';
import { seededRandom } from '../../../../src/domain/seededRandom.ts';
import { createHashSigner } from '../support/hashSigner.ts';
import { countVerifications, type CountingSigner } from './countingSigner.ts';
import { alertOf, forkProof, garbage, unitBy } from './forgery.ts';

const n = 4;
const session = 7n;
const config = broadcastConfig({ n, peer: 0, session, roundsPerSession: 50 });
const cap = maxRound(config) + 1;

interface Harness {
  alerter: Alerter;
  signer: CountingSigner;
  sent: BroadcastMessage[];
  committed: Alert[];
}

/** Node 0's alerter, fed directly: what it sends and commits is recorded, its verifications counted. */
function harness(): Harness {
  const signer = countVerifications(createHashSigner(0, n));
  const sent: BroadcastMessage[] = [];
  const committed: Alert[] = [];
  const alerter = createAlerter({
    n,
    signer,
    send: (_to, message) => sent.push(message),
    sendAll: (message) => sent.push(message),
    unitIsValid: (unit) => validateUnit(withHash(unit), config, signer).ok,
    unitIsWellFormed: (unit) => unitStructureRejection(unit, config) === undefined,
    maxLegitUnits: cap,
    heldUnitsOf: () => [],
    onForker: () => {},
    onCommitted: (alert) => committed.push(alert),
  });
  return { alerter, signer, sent, committed };
}

const signAs = (peer: number, alert: Alert) => createHashSigner(peer, n).sign(alertHash(alert));

describe('alerter against hostile peers', () => {
  it('keeps nothing and verifies nothing for signatures of alerts it does not hold (10,000 garbage signatures)', () => {
    const { alerter, signer } = harness();
    const random = seededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      alerter.handle(1 + (i % 3), { kind: 'alertSignature', value: { alertHash: garbage(random, 32), signature: garbage(random, 64) } });
    }
    expect(signer.verifications).toBe(0);
    expect(alerter.size()).toEqual({ alerts: 0, signatures: 0, distrusted: [] });
  });

  it('ignores messages from ids outside the federation', () => {
    const { alerter, signer } = harness();
    const alert = alertOf(7, 3, forkProof(3, 1, { n, session }));
    alerter.handle(7, { kind: 'alert', value: alert });
    alerter.handle(9, { kind: 'alertSignature', value: { alertHash: alertHash(alert), signature: new Uint8Array(64) } });
    expect(signer.verifications).toBe(0);
    expect(alerter.size().alerts).toBe(0);
  });

  it('verifies an alert once: repeats and other alerts of the same sender about the same forker cost nothing', () => {
    const { alerter, signer } = harness();
    const first = alertOf(1, 3, forkProof(3, 1, { n, session }));
    alerter.handle(1, { kind: 'alert', value: first });
    expect(signer.verifications).toBe(2);
    for (let i = 0; i < 1_000; i++) alerter.handle(1, { kind: 'alert', value: first });
    for (let i = 0; i < 1_000; i++) alerter.handle(1, { kind: 'alert', value: alertOf(1, 3, forkProof(3, 2 + i, { n, session })) });
    expect(signer.verifications).toBe(2);
    // The alert of sender 1 and this node's own alert about forker 3.
    expect(alerter.size().alerts).toBe(2);
    expect(alerter.isForker(3)).toBe(true);
  });

  it.each([
    ['more legit units than rounds in a session', (proof: ReturnType<typeof forkProof>) => alertOf(1, 3, proof, Array.from({ length: cap + 1 }, (_, r) => unitBy(3, r, { n, session })))],
    ['two legit units in one round', (proof: ReturnType<typeof forkProof>) => alertOf(1, 3, proof, [unitBy(3, 4, { n, session }), unitBy(3, 4, { n, session, data: new Uint8Array([9]) })])],
    ['a legit unit of another creator', (proof: ReturnType<typeof forkProof>) => alertOf(1, 3, proof, [unitBy(2, 4, { n, session })])],
    ['a proof of one unit twice', (proof: ReturnType<typeof forkProof>) => alertOf(1, 3, [proof[0], proof[0]])],
    ['a proof across two rounds', () => alertOf(1, 3, [unitBy(3, 1, { n, session }), unitBy(3, 2, { n, session })])],
    ['a proof of another creator than the forker', (proof: ReturnType<typeof forkProof>) => alertOf(1, 2, proof)],
    ['a proof of three units', (proof: ReturnType<typeof forkProof>) => alertOf(1, 3, [...proof, unitBy(3, 1, { n, session, data: new Uint8Array([3]) })])],
  ])('refuses an alert with %s before verifying any signature', (_name, make) => {
    const { alerter, signer } = harness();
    alerter.handle(1, { kind: 'alert', value: make(forkProof(3, 1, { n, session })) });
    expect(signer.verifications).toBe(0);
    expect(alerter.size().alerts).toBe(0);
    expect(alerter.isForker(3)).toBe(false);
  });

  it('does not accuse a node that never forked, and stops listening to the peer that tried', () => {
    const { alerter, signer } = harness();
    const real = unitBy(2, 5, { n, session });
    const forged = { ...real, preUnit: { ...real.preUnit, data: new Uint8Array([0xee]) } };
    alerter.handle(1, { kind: 'alert', value: alertOf(1, 2, [real, forged]) });
    expect(alerter.isForker(2)).toBe(false);
    expect(alerter.size().distrusted).toEqual([1]);
    const spent = signer.verifications;
    expect(spent).toBeLessThanOrEqual(2);
    alerter.handle(1, { kind: 'alert', value: alertOf(1, 3, forkProof(3, 1, { n, session })) });
    expect(signer.verifications).toBe(spent);
  });

  it('verifies one garbage signature for a held alert, keeps none, and ignores the sender afterwards', () => {
    const { alerter, signer } = harness();
    const alert = alertOf(1, 3, forkProof(3, 1, { n, session }));
    alerter.handle(1, { kind: 'alert', value: alert });
    const before = signer.verifications;
    const random = seededRandom(2);
    for (let i = 0; i < 1_000; i++) alerter.handle(2, { kind: 'alertSignature', value: { alertHash: alertHash(alert), signature: garbage(random, 64) } });
    expect(signer.verifications - before).toBe(1);
    expect(alerter.size().distrusted).toEqual([2]);
    // Node 0's own signatures only: the alert of sender 1 and node 0's own alert.
    expect(alerter.size().signatures).toBe(2);
  });

  it('commits with verified signatures only: ids outside the federation and surplus signatures are never copied', () => {
    const { alerter, sent, committed } = harness();
    const alert = alertOf(3, 3, forkProof(3, 1, { n, session }));
    const signatures = new Map<number, Uint8Array>([
      [1, signAs(1, alert)],
      [2, signAs(2, alert)],
      [3, signAs(3, alert)],
    ]);
    for (let id = 4; id < 200; id++) signatures.set(id, new Uint8Array(64).fill(id & 0xff));
    alerter.handle(2, { kind: 'alertCommitted', value: { alert, signatures } });
    expect(committed).toEqual([alert]);
    const relayed = sent.filter((m) => m.kind === 'alertCommitted').map((m) => m.value);
    expect(relayed.length).toBeGreaterThan(0);
    const verifier = createHashSigner(0, n);
    for (const { alert: a, signatures: s } of relayed) {
      for (const [peer, signature] of s) {
        expect(peer).toBeLessThan(n);
        expect(verifier.verify(peer, alertHash(a), signature)).toBe(true);
      }
    }
  });

  it('refuses a commit whose signatures do not verify, and the peer that relayed it', () => {
    const { alerter, signer, committed } = harness();
    const alert = alertOf(3, 3, forkProof(3, 1, { n, session }));
    const signatures = new Map<number, Uint8Array>([
      [1, signAs(1, alert)],
      [2, new Uint8Array(64)],
      [3, signAs(3, alert)],
    ]);
    alerter.handle(1, { kind: 'alertCommitted', value: { alert, signatures } });
    expect(committed).toEqual([]);
    expect(alerter.size().distrusted).toEqual([1]);
    const spent = signer.verifications;
    for (let i = 0; i < 100; i++) alerter.handle(1, { kind: 'alertCommitted', value: { alert, signatures } });
    expect(signer.verifications).toBe(spent);
  });

  it('holds at most one alert per (sender, forker) and n signatures per alert, whatever is sent', () => {
    const { alerter } = harness();
    const random = seededRandom(3);
    for (let i = 0; i < 2_000; i++) {
      const sender = 1 + (i % 3);
      const forker = Math.floor(random() * n);
      const alert = alertOf(sender, forker, forkProof(forker, 1 + (i % 40), { n, session, salt: i }));
      alerter.handle(sender, { kind: 'alert', value: alert });
      for (const signer of [1, 2, 3]) alerter.handle(signer, { kind: 'alertSignature', value: { alertHash: alertHash(alert), signature: signAs(signer, alert) } });
    }
    const size = alerter.size();
    expect(size.alerts).toBeLessThanOrEqual(n * n);
    expect(size.signatures).toBeLessThanOrEqual(n * size.alerts);
    expect(alerter.forkers()).toEqual([0, 1, 2, 3]);
  });
});
