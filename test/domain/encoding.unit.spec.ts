import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bool,
  bytes,
  bytes32,
  decode,
  encode,
  enumeration,
  map,
  option,
  string,
  struct,
  u16,
  u32,
  u64,
  u8,
  vec,
  versioned,
  type Codec,
  type DecodeResult,
} from '../../src/domain/encoding.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { encodingVectors } from './encodingVectors.ts';

const SEED = 20261125;

function expectError<T>(result: DecodeResult<T>, kind: string): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error.kind).toBe(kind);
}

describe('BigSize', () => {
  it.each(encodingVectors.bigsize)('encodes $value as $hex and decodes it back', ({ value, hex }) => {
    expect(bytesToHex(encode(u64, BigInt(value)))).toBe(hex);
    const decoded = decode(u64, hexToBytes(hex));
    expect(decoded).toEqual({ ok: true, value: BigInt(value) });
  });

  it.each(encodingVectors.bigsizeRejected)('rejects %s with a typed error', (hex) => {
    const result = decode(u64, hexToBytes(hex));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(['nonMinimalBigSize', 'truncated']).toContain(result.error.kind);
  });

  it('names non-minimal and truncated encodings precisely', () => {
    expectError(decode(u64, hexToBytes('fd00fc')), 'nonMinimalBigSize');
    expectError(decode(u64, hexToBytes('fe0000ffff')), 'nonMinimalBigSize');
    expectError(decode(u64, hexToBytes('ff00000000ffffffff')), 'nonMinimalBigSize');
    expectError(decode(u64, hexToBytes('fd00')), 'truncated');
    expectError(decode(u64, hexToBytes('fe')), 'truncated');
    expectError(decode(u64, new Uint8Array()), 'truncated');
  });

  it('rejects a u16 above 65535 and trailing bytes', () => {
    expectError(decode(u16, hexToBytes('fe00010000')), 'outOfRange');
    expectError(decode(u32, hexToBytes('ff0000000100000000')), 'outOfRange');
    expectError(decode(u64, hexToBytes('0101')), 'trailingBytes');
  });

  it('refuses to encode values outside the type', () => {
    expect(() => encode(u16, 65536)).toThrow(RangeError);
    expect(() => encode(u64, -1n)).toThrow(RangeError);
    expect(() => encode(u64, 2n ** 64n)).toThrow(RangeError);
  });
});

describe('primitives and combinators', () => {
  it('encodes bool as one byte 0 or 1 and rejects anything else', () => {
    expect(bytesToHex(encode(bool, true))).toBe('01');
    expectError(decode(bool, hexToBytes('02')), 'invalidBool');
  });

  it('length-prefixes bytes and strings and rejects invalid UTF-8', () => {
    expect(bytesToHex(encode(bytes, hexToBytes('abcd')))).toBe('02abcd');
    expect(bytesToHex(encode(string, 'hé'))).toBe('0368c3a9');
    expectError(decode(string, hexToBytes('01ff')), 'invalidUtf8');
    expectError(decode(bytes, hexToBytes('05abcd')), 'truncated');
  });

  it('writes maps in ascending key order and rejects unsorted or duplicate keys', () => {
    const codec = map(u16, u8);
    const value = new Map([
      [300, 1],
      [2, 2],
      [7, 3],
    ]);
    expect(bytesToHex(encode(codec, value))).toBe('03' + '0202' + '0703' + 'fd012c01');
    expectError(decode(codec, hexToBytes('02' + '0703' + '0202')), 'unsortedMapKeys');
    expectError(decode(codec, hexToBytes('02' + '0202' + '0203')), 'duplicateMapKey');
  });

  it('length-prefixes enum bodies and rejects unknown variants, short and long bodies', () => {
    const codec = enumeration({ A: [0, u8], B: [1, u64] } as const);
    expect(bytesToHex(encode(codec, { kind: 'B', value: 300n }))).toBe('0103fd012c');
    expectError(decode(codec, hexToBytes('020100')), 'unknownVariant');
    expectError(decode(codec, hexToBytes('00020101')), 'trailingBytes');
    expectError(decode(codec, hexToBytes('0000')), 'truncated');
  });

  it('encodes Option as the enum None = 0 (empty body), Some = 1', () => {
    const codec = option(u8);
    expect(bytesToHex(encode(codec, undefined))).toBe('0000');
    expect(bytesToHex(encode(codec, 5))).toBe('010105');
    expectError(decode(codec, hexToBytes('0200')), 'unknownVariant');
    expectError(decode(codec, hexToBytes('000100')), 'trailingBytes');
  });

  it('rejects a module body version other than 0', () => {
    expectError(decode(versioned(u8), hexToBytes('010105')), 'unknownVariant');
  });

  it('bounds a Vec count by the bytes left instead of allocating', () => {
    expectError(decode(vec(u8), hexToBytes('feffffffff')), 'truncated');
  });
});

// A composite type that exercises every combinator at once.
const composite = struct({
  flag: bool,
  small: u8,
  peer: u16,
  amount: u64,
  hash: bytes32,
  blob: bytes,
  text: string,
  list: vec(u64),
  keys: map(u16, bytes32),
  maybe: option(u32),
  choice: enumeration({ Left: [0, u8], Right: [1, vec(bytes)] } as const),
});

const compositeArb = fc.record({
  flag: fc.boolean(),
  small: fc.integer({ min: 0, max: 255 }),
  peer: fc.integer({ min: 0, max: 0xffff }),
  amount: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  blob: fc.uint8Array({ maxLength: 40 }),
  text: fc.string({ unit: 'grapheme', maxLength: 10 }),
  list: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 5 }),
  keys: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 32, maxLength: 32 })), { selector: ([k]) => k, maxLength: 5 }).map((entries) => new Map(entries)),
  maybe: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
  choice: fc.oneof(
    fc.integer({ min: 0, max: 255 }).map((value) => ({ kind: 'Left' as const, value })),
    fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }).map((value) => ({ kind: 'Right' as const, value })),
  ),
});

function roundTrips<T>(codec: Codec<T>, arb: fc.Arbitrary<T>): void {
  fc.assert(
    fc.property(arb, (value) => {
      const encoded = encode(codec, value);
      const decoded = decode(codec, encoded);
      expect(decoded).toEqual({ ok: true, value });
      if (decoded.ok) expect(encode(codec, decoded.value)).toEqual(encoded);
    }),
    { seed: SEED, numRuns: 300 },
  );
}

describe('properties', () => {
  it('round-trips every primitive and combinator', () => {
    roundTrips(u64, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    roundTrips(u16, fc.integer({ min: 0, max: 0xffff }));
    roundTrips(composite, compositeArb);
  });

  it('decodes 10,000 random byte strings into a value or a typed error, nothing else', () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        for (const codec of [composite, u64, map(u16, bytes32), vec(bytes), option(string)] as Codec<unknown>[]) {
          const result = decode(codec, input);
          if (!result.ok) kinds.add(result.error.kind);
          else expect(encode(codec, result.value)).toEqual(input);
        }
      }),
      { seed: SEED, numRuns: 10_000 },
    );
    expect(kinds.has('truncated')).toBe(true);
  });
});
