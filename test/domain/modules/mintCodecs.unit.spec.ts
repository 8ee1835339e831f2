import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode, type Codec } from '../../../src/domain/encoding.ts';
import { genericMintCodecs, mintCodecs } from '../../../src/domain/modules/mint.ts';

describe('mint codecs', () => {
  for (const part of ['input', 'output'] as const) {
    it(`(${part}) decode exactly as the generic versioned struct: same values, same errors, same encoding`, () => {
      const valid = fc.record({ txid: fc.uint8Array({ minLength: 32, maxLength: 32 }), amount: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) });
      const bytesArb = fc.oneof(
        fc.uint8Array({ maxLength: 60 }),
        // Valid encodings, then corrupted at one place, cut, or extended.
        fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('keep', 'set', 'cut', 'extend')).map(([{ txid, amount }, at, value, how]) => {
          const bytes =
            part === 'input' ? encode(genericMintCodecs.input, { txid, index: amount }) : encode(genericMintCodecs.output, { amount, owner: txid });
          if (how === 'set') bytes[at % bytes.length] = value;
          if (how === 'cut') return bytes.subarray(0, at % bytes.length);
          if (how === 'extend') return Uint8Array.from([...bytes, value]);
          return bytes;
        }),
      );
      fc.assert(
        fc.property(bytesArb, (bytes) => {
          const fastCodec = mintCodecs[part] as Codec<unknown>;
          const fast = decode(fastCodec, bytes);
          expect(fast).toEqual(decode(genericMintCodecs[part] as Codec<unknown>, bytes));
          if (fast.ok) expect(encode(fastCodec, fast.value)).toEqual(bytes);
        }),
        { seed: 5, numRuns: 3000 },
      );
    });
  }
});
