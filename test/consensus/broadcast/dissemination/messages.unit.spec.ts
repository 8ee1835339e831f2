import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type BroadcastMessage } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
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
});
