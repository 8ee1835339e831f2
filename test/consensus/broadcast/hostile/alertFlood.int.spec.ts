import { describe, expect, it } from 'vitest';
import { alertHash } from '../../../../src/consensus/broadcast/alerts/alert.ts';
import { maxRound, broadcastConfig } from '../../../../src/consensus/broadcast/config.ts';
import { encodeWire, type BroadcastMessage } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import { seededRandom } from '../../../../src/domain/seededRandom.ts';
import { equivocate } from '../support/byzantine.ts';
import { createHashSigner } from '../support/hashSigner.ts';
import { createSimulation, prefixConsistent } from '../support/simulation.ts';
import { countVerifications, type CountingSigner } from './countingSigner.ts';
import { alertOf, forkProof, garbage, unitBy } from './forgery.ts';

const n = 4;
const session = 7n;
const hostile = 3;
const honest = [0, 1, 2];
const roundsPerSession = 100;
const cap = maxRound(broadcastConfig({ n, peer: 0, session, roundsPerSession })) + 1;
/** One legit unit per round of the session, and one more: a unit too many. */
const tooManyLegitUnits = Array.from({ length: cap + 1 }, (_, r) => unitBy(hostile, r, { n, session }));

/** One burst of a flood: the messages the hostile peer sends to everyone, `burst` counting from 0. */
type Flood = (burst: number, random: () => number) => BroadcastMessage[];

const floods: [string, Flood][] = [
  ['signatures of alerts nobody made', (_b, random) => Array.from({ length: 50 }, () => ({ kind: 'alertSignature', value: { alertHash: garbage(random, 32), signature: garbage(random, 64) } }))],
  ['one valid alert, over and over', () => Array.from({ length: 50 }, () => ({ kind: 'alert', value: alertOf(hostile, hostile, forkProof(hostile, 1, { n, session })) }))],
  ['a new valid alert about itself every time', (b) => Array.from({ length: 50 }, (_, i) => ({ kind: 'alert', value: alertOf(hostile, hostile, forkProof(hostile, 1 + ((b * 50 + i) % 90), { n, session, salt: b * 50 + i })) }))],
  [
    'alerts accusing honest nodes',
    (b) =>
      Array.from({ length: 50 }, (_, i) => {
        const real = unitBy(i % 3, 2, { n, session, data: new Uint8Array([b & 0xff, i]) });
        return { kind: 'alert', value: alertOf(hostile, i % 3, [real, { ...real, preUnit: { ...real.preUnit, data: new Uint8Array([0xee, b & 0xff, i]) } }]) };
      }),
  ],
  ['alerts with more legit units than a session has rounds', (b) => [{ kind: 'alert', value: alertOf(hostile, hostile, forkProof(hostile, 1, { n, session, salt: b }), tooManyLegitUnits) }]],
  [
    'commits signed by 1,000 claimed senders',
    (b, random) =>
      Array.from({ length: 20 }, (_, i) => {
        const alert = alertOf(hostile, hostile, forkProof(hostile, 1, { n, session, salt: b * 20 + i }));
        const signatures = new Map<number, Uint8Array>([[hostile, createHashSigner(hostile, n).sign(alertHash(alert))]]);
        for (let id = 0; id < 1_000; id++) if (id !== hostile) signatures.set(id, garbage(random, 64));
        return { kind: 'alertCommitted', value: { alert, signatures } };
      }),
  ],
];

describe('alert floods from a hostile forker', () => {
  it.each(floods)('honest nodes stay bounded and keep agreeing under %s', async (_name, flood) => {
    const signers: CountingSigner[] = Array.from({ length: n }, (_, p) => countVerifications(createHashSigner(p, n)));
    const sim = createSimulation({
      n,
      seed: 61,
      network: { latency: { min: 1, max: 10 }, tamper: equivocate([hostile], n, (p) => createHashSigner(p, n)) },
      config: { roundsPerSession },
      signer: (p) => signers[p]!,
    });
    for (let i = 0; i < n; i++) sim.start(i);
    const random = seededRandom(62);
    const wire = sim.net.endpoint(hostile);
    let sent = 0;
    // 100 bursts, one every 10 ms of virtual time from the start, while the federation runs.
    for (let burst = 0; burst < 100; burst++) {
      sim.clock.setTimer(20 + 10 * burst, () => {
        for (const message of flood(burst, random)) {
          wire.sendAll(encodeWire(session, message));
          sent++;
        }
      });
    }
    expect(await sim.runUntilOrdered(80, honest, 30_000)).toBe(true);
    const statuses = honest.map((i) => sim.peers[i]!.node!.status());
    sim.stopAll();

    expect(sent).toBeGreaterThanOrEqual(50);
    expect(prefixConsistent(honest.map((i) => sim.peers[i]!.output))).toBe(true);
    honest.forEach((i, k) => {
      const { alerter, dagSize } = statuses[k]!;
      expect(sim.peers[i]!.events.some((e) => e.kind === 'alertCommitted' && e.forker === hostile)).toBe(true);
      // Memory: one alert per (sender, forker) at most, n signatures per alert at most.
      expect(alerter.alerts).toBeLessThanOrEqual(n * n);
      expect(alerter.signatures).toBeLessThanOrEqual(n * alerter.alerts);
      // CPU: about one verification per unit; the flood's thousands of messages add next to nothing.
      expect(signers[i]!.verifications).toBeLessThan(dagSize + 40);
    });
  }, 60_000);
});
