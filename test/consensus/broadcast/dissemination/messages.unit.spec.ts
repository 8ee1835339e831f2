import fc from 'fast-check';
import { broadcastConfig, maxRound } from '../../../../src/consensus/broadcast/config.ts';
import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeWire, encodeMessage, encodeWire, maxMessageBytes, isAlertVariant, maxUnitBytes, MAX_UNIT_DATA_BYTES, readEnvelope, WIRE_VERSION, type BroadcastMessage } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import { encodeUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { combinedHash } from '../../../../src/consensus/broadcast/unit.ts';

const unit = {
  preUnit: { creator: 2, round: 5, session: 9n, controlHash: { parents: [4, 4, 4, undefined], combinedHash: combinedHash([]) }, data: new Uint8Array([7, 8]) },
  signature: new Uint8Array(64).fill(3),
};

describe('broadcast wire messages', () => {
  it('round-trips every message kind', () => {
    const messages: BroadcastMessage[] = [
      { kind: 'unit', value: unit },
      { kind: 'coordRequest', value: { creator: 1, round: 300 } },
      { kind: 'parentsRequest', value: { hash: new Uint8Array(32).fill(1) } },
      { kind: 'parentsResponse', value: { hash: new Uint8Array(32).fill(1), parents: [unit, unit] } },
      { kind: 'newestUnitRequest', value: { nonce: 5n } },
      { kind: 'newestUnitResponse', value: { nonce: 5n, unit: undefined } },
      { kind: 'alert', value: { sender: 1, forker: 2, proof: [unit, unit], legitUnits: [unit] } },
      { kind: 'alertSignature', value: { alertHash: new Uint8Array(32), signature: new Uint8Array(64) } },
      { kind: 'alertCommitted', value: { alert: { sender: 1, forker: 2, proof: [unit, unit], legitUnits: [] }, signatures: new Map([[0, new Uint8Array(64)]]) } },
    ];
    for (const message of messages) {
      const bytes = encodeMessage(message);
      const decoded = decodeMessage(bytes);
      expect(decoded.ok).toBe(true);
      if (decoded.ok) expect(encodeMessage(decoded.value)).toEqual(bytes);
    }
  });

  it('returns a typed error, never throws, for arbitrary and mutated bytes', () => {
    const valid = encodeMessage({ kind: 'unit', value: unit });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const result = decodeMessage(bytes);
        if (!result.ok) expect(typeof result.error.kind).toBe('string');
      }),
      { seed: 7, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const mutated = valid.slice();
        mutated[index]! ^= flip;
        decodeMessage(mutated);
      }),
      { seed: 8, numRuns: 2000 },
    );
    const truncated = decodeMessage(valid.subarray(0, valid.length - 1));
    expect(truncated.ok).toBe(false);
  });

  it('wraps every message in { version: u8, session: u64 }, readable without decoding the body', () => {
    const bytes = encodeWire(2n ** 40n, { kind: 'coordRequest', value: { creator: 1, round: 300 } });
    expect(bytes[0]).toBe(WIRE_VERSION);
    // BigSize of 2^40: 0xff and 8 bytes.
    expect(bytes[1]).toBe(0xff);
    expect(readEnvelope(bytes)).toEqual({ ok: true, value: { version: WIRE_VERSION, session: 2n ** 40n, variant: 1 } });
    // The envelope is read even when the body is garbage.
    const garbled = bytes.slice();
    garbled[10] = 0x63; // an unknown message kind
    expect(readEnvelope(garbled).ok).toBe(true);
    expect(decodeWire(garbled).ok).toBe(false);
    const decoded = decodeWire(bytes);
    expect(decoded.ok && decoded.value.message).toEqual({ kind: 'coordRequest', value: { creator: 1, round: 300 } });
    expect(readEnvelope(new Uint8Array([1])).ok).toBe(false);
  });

  it('names the message kind in the envelope, so an alert (which lists the forker\'s units) gets its own frame limit', () => {
    const alertSignature = encodeWire(3n, { kind: 'alertSignature', value: { alertHash: new Uint8Array(32), signature: new Uint8Array(64) } });
    const envelope = readEnvelope(alertSignature);
    expect(envelope.ok && isAlertVariant(envelope.value.variant)).toBe(true);
    const unitRequest = readEnvelope(encodeWire(3n, { kind: 'coordRequest', value: { creator: 0, round: 1 } }));
    expect(unitRequest.ok && isAlertVariant(unitRequest.value.variant)).toBe(false);
    const config = broadcastConfig({ n: 4, peer: 0, session: 3n });
    // A fork found late in a session: one legit unit per round, far beyond n + 2 units.
    expect(config.maxAlertBytes).toBeGreaterThan((maxRound(config) + 1) * 1_000);
    expect(config.maxAlertBytes).toBeGreaterThan(config.maxMessageBytes);
  });

  it('sizes the frame limit for n + 2 units of the largest data DESIGN.md allows', () => {
    for (const n of [4, 7, 100]) {
      const largest = { ...unit, preUnit: { ...unit.preUnit, round: 0xffffffff, session: 2n ** 64n - 1n, creator: n - 1, controlHash: { ...unit.preUnit.controlHash, parents: Array.from({ length: n }, () => 0xffffffff) }, data: new Uint8Array(MAX_UNIT_DATA_BYTES) } };
      expect(encodeUnit(largest).length).toBeLessThanOrEqual(maxUnitBytes(n));
      const response = encodeWire(2n ** 64n - 1n, { kind: 'parentsResponse', value: { hash: new Uint8Array(32), parents: Array.from({ length: n }, () => largest) } });
      expect(response.length).toBeLessThanOrEqual(maxMessageBytes(n));
    }
  });
});
