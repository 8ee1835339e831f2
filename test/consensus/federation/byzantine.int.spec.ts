import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire } from '../../../src/consensus/broadcast/dissemination/messages.ts';
import { unitSignerFromKeychain } from '../../../src/consensus/broadcast/signer.ts';
import { withHash } from '../../../src/consensus/broadcast/unit.ts';
import { decodePeerMessage, encodePeerMessage } from '../../../src/consensus/federation/peerMessages.ts';
import { hexToBytes } from '../../../src/domain/hashing.ts';
import { seededRandom } from '../../../src/domain/seededRandom.ts';
import type { EventLog } from '../../../src/streams/eventLog.ts';
import { streams } from '../../../src/streams/events.ts';
import { keychains } from '../engine/scriptedOrdering.ts';
import { headers, testFederation, until } from './federationFixture.ts';

const BYZANTINE = 3;
const HONEST = [0, 1, 2];

/**
 * Guardian 3's links, rewritten: its units to guardians 2 and 3 are replaced by a second, validly
 * signed unit at the same coordinate (equivocation), and every few frames it also sends garbage.
 */
function equivocateAndSpray(random: () => number) {
  const signer = unitSignerFromKeychain(keychains[BYZANTINE]!);
  return (from: number, to: number, bytes: Uint8Array): Uint8Array[] => {
    if (from !== BYZANTINE) return [bytes];
    const frames = [bytes];
    if (random() < 0.2) frames.push(Uint8Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
    if (to < 2) return frames;
    const message = decodePeerMessage(bytes);
    if (!message.ok || message.value.kind !== 'broadcast') return frames;
    const wire = decodeWire(message.value.value);
    if (!wire.ok || wire.value.message.kind !== 'unit' || wire.value.message.value.preUnit.creator !== BYZANTINE) return frames;
    const unit = wire.value.message.value;
    const preUnit = { ...unit.preUnit, data: new Uint8Array([...unit.preUnit.data, 0x21]) };
    const forked = { preUnit, signature: signer.sign(hexToBytes(withHash({ preUnit, signature: unit.signature }).hash)) };
    frames[0] = encodePeerMessage({ kind: 'broadcast', value: encodeWire(wire.value.session, { kind: 'unit', value: forked }) });
    return frames;
  };
}

async function sealedSignatures(log: EventLog, sessions: number) {
  const out: { signers: string[]; recorded: [number, boolean][] }[] = [];
  for (let session = 0; session < sessions; session++) {
    const events = await log.readStream(streams.session(session));
    const completed = events.find((e) => e.type === 'SessionCompleted')!.data as { signatures: Record<string, string> };
    const recorded = events.filter((e) => e.type === 'SignatureRecorded').map((e) => [(e.data as { peer: number }).peer, (e.data as { valid: boolean }).valid] as [number, boolean]);
    out.push({ signers: Object.keys(completed.signatures), recorded });
  }
  return out;
}

describe('a byzantine guardian among four (in-memory links, seeded)', () => {
  it('equivocating units, garbage frames and invalid signature shares: the honest three agree and progress, and the bad shares are never counted', async () => {
    const federation = testFederation({ seed: 21 });
    federation.hub.tamper(equivocateAndSpray(seededRandom(21)));
    await Promise.all(HONEST.map((peer) => federation.start(peer)));
    await federation.start(BYZANTINE, undefined, { badSignatureShares: true });
    await until(() => HONEST.every((peer) => federation.guardians[peer]!.engine.currentSession() >= 3), 60_000);
    const logs = HONEST.map((peer) => federation.guardians[peer]!.log);
    const forkSeen = HONEST.some((peer) => federation.guardians[peer]!.forkers.has(BYZANTINE));
    const garbage = HONEST.map((peer) => federation.guardians[peer]!.member.links.garbage().get(BYZANTINE) ?? 0);
    await federation.stopAll();
    const seen = await Promise.all(logs.map((log) => headers(log, 3)));
    expect(seen[0]!.every((h) => h !== undefined)).toBe(true);
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
    expect(garbage.some((count) => count > 0)).toBe(true);
    expect(forkSeen).toBe(true);
    for (const log of logs) {
      for (const { signers, recorded } of await sealedSignatures(log, 3)) {
        expect(signers).not.toContain(String(BYZANTINE));
        expect(signers.length).toBeGreaterThanOrEqual(3);
        for (const [peer, valid] of recorded) if (peer === BYZANTINE) expect(valid).toBe(false);
      }
    }
  }, 90_000);

  it('a guardian under another consensus hash is excluded; the honest three agree and progress without it', async () => {
    const federation = testFederation({ seed: 22 });
    await federation.start(BYZANTINE, undefined, { consensusHash: new Uint8Array(32).fill(0x66) });
    await Promise.all(HONEST.map((peer) => federation.start(peer)));
    await until(() => HONEST.every((peer) => federation.guardians[peer]!.engine.currentSession() >= 2), 60_000);
    const mismatched = HONEST.map((peer) => federation.guardians[peer]!.member.hashCheck.mismatched());
    const byzantine = federation.guardians[BYZANTINE]!.member.hashCheck.confirmed();
    const logs = HONEST.map((peer) => federation.guardians[peer]!.log);
    await federation.stopAll();
    for (const list of mismatched) expect(list).toEqual([BYZANTINE]);
    expect(byzantine).toEqual([BYZANTINE]);
    const seen = await Promise.all(logs.map((log) => headers(log, 2)));
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  }, 90_000);
});
