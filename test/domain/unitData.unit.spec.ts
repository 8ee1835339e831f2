import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeConsensusItem, encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import { bytesToHex, hexToBytes } from '../../src/domain/hashing.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';
import { claimDeposit, withdraw } from '../../src/domain/modules/wallet.ts';
import { decodeUnitData, encodedBatchSize, encodeUnitData, MAX_UNIT_DATA_BYTES, type UnitData, type UnitDataError } from '../../src/domain/unitData.ts';
import { encodeTransaction, MAX_TRANSACTION_BYTES, type Transaction } from '../../src/domain/transaction.ts';
import { encodingVectors } from './encodingVectors.ts';

const SEED = 0x0e1d;

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: UnitDataError }): T {
  if (!result.ok) throw new Error(`${result.error.kind}: ${result.error.message}`);
  return result.value;
}

const itemOf = (hex: string): ConsensusItem => {
  const decoded = decodeConsensusItem(hexToBytes(hex), defaultModuleCodecs);
  if (!decoded.ok) throw new Error(decoded.error.message);
  return decoded.value;
};

/** The vector's own data, built from its listed items or signature (the empty batch lists neither). */
const listed = (v: (typeof encodingVectors.unitData)[number]): UnitData =>
  v.signature !== undefined ? { kind: 'signature', signature: hexToBytes(v.signature) } : { kind: 'batch', items: (v.items ?? []).map(itemOf) };

/** What each rejected vector's description says is wrong, as the error kind decoding must give. */
const expectedRejection: Record<string, UnitDataError['kind']> = {
  'unknown variant 2': 'unknownVariant',
  // The body holds 63 bytes where the signature needs 64.
  'Signature of 63 bytes': 'truncated',
  'Batch whose count says 2 but holds 1 item': 'truncated',
  'trailing byte after the enum': 'trailingBytes',
};

/** A transaction whose encoding grows by one byte per byte of its withdraw destination (between BigSize steps). */
const withdrawTransaction = (destinationBytes: number): Transaction => ({
  inputs: [claimDeposit(new Uint8Array(32).fill(1))],
  outputs: [withdraw(new Uint8Array(destinationBytes).fill(7), 1_000n)],
  nonce: new Uint8Array(8),
  signatures: [new Uint8Array(64)],
});

/** The destination length at which `size(destination)` is exactly `target`: one step from a guess, then a few of one byte. */
function destinationFor(target: number, size: (destination: number) => number): number {
  let destination = target - 200;
  destination += target - size(destination);
  while (size(destination) < target) destination++;
  while (size(destination) > target) destination--;
  if (size(destination) !== target) throw new Error(`no destination length gives ${target} bytes`);
  return destination;
}

/** A batch of one withdraw transaction that encodes to exactly `size` bytes. */
function batchOfSize(size: number): UnitData {
  const item = (destination: number): ConsensusItem => ({ kind: 'transaction', tx: withdrawTransaction(destination) });
  const destination = destinationFor(size, (d) => encodedBatchSize(encodeConsensusItem(item(d)).length, 1));
  return { kind: 'batch', items: [item(destination)] };
}

describe('UnitData', () => {
  it.each(encodingVectors.unitData)('$description: decodes to the listed data and encodes back to the same bytes', (v) => {
    const encoded = hexToBytes(v.encoded);
    const data = unwrap(decodeUnitData(encoded, defaultModuleCodecs));
    const expected = listed(v);
    expect(data.kind).toBe(expected.kind);
    if (data.kind === 'batch' && expected.kind === 'batch') expect(data.items.map((item) => bytesToHex(encodeConsensusItem(item)))).toEqual(v.items ?? []);
    if (data.kind === 'signature' && expected.kind === 'signature') expect(bytesToHex(data.signature)).toBe(v.signature);
    expect(bytesToHex(unwrap(encodeUnitData(data)))).toBe(v.encoded);
    expect(bytesToHex(unwrap(encodeUnitData(expected)))).toBe(v.encoded);
  });

  it('has vectors of every kind: an empty batch, a batch of items, a signature', () => {
    const kinds = encodingVectors.unitData.map((v) => listed(v)).map((d) => (d.kind === 'batch' ? `batch of ${d.items.length}` : d.kind));
    expect(kinds).toEqual(expect.arrayContaining(['batch of 0', 'batch of 2', 'signature']));
  });

  it.each(encodingVectors.unitDataRejected)('refuses $description with a typed error', (v) => {
    const kind = expectedRejection[v.description];
    expect(kind, `no expected error kind for the vector '${v.description}'`).toBeDefined();
    const result = decodeUnitData(hexToBytes(v.encoded), defaultModuleCodecs);
    expect(result.ok === false && result.error.kind).toBe(kind);
  });

  it('encodes and decodes a batch of exactly MAX_UNIT_DATA_BYTES, and refuses one byte more both ways', () => {
    const largest = batchOfSize(MAX_UNIT_DATA_BYTES);
    const encoded = unwrap(encodeUnitData(largest));
    expect(encoded.length).toBe(MAX_UNIT_DATA_BYTES);
    expect(unwrap(decodeUnitData(encoded, defaultModuleCodecs))).toEqual(largest);

    const over = encodeUnitData(batchOfSize(MAX_UNIT_DATA_BYTES + 1));
    expect(over.ok === false && over.error).toMatchObject({ kind: 'tooLarge', size: MAX_UNIT_DATA_BYTES + 1, limit: MAX_UNIT_DATA_BYTES });
    // A peer's oversized unit is refused on its length, whatever its bytes.
    const decoded = decodeUnitData(new Uint8Array(MAX_UNIT_DATA_BYTES + 1), defaultModuleCodecs);
    expect(decoded.ok === false && decoded.error).toMatchObject({ kind: 'tooLarge', size: MAX_UNIT_DATA_BYTES + 1 });
  });

  it('always fits a largest (50,000-byte) transaction in a batch of its own', () => {
    const tx = withdrawTransaction(destinationFor(MAX_TRANSACTION_BYTES, (d) => encodeTransaction(withdrawTransaction(d)).length));
    expect(encodeTransaction(tx).length).toBe(MAX_TRANSACTION_BYTES);
    const encoded = unwrap(encodeUnitData({ kind: 'batch', items: [{ kind: 'transaction', tx }] }));
    expect(encoded.length).toBeLessThanOrEqual(MAX_UNIT_DATA_BYTES);
  });

  it('states the encoded size of a batch from its items, across the BigSize steps of count and length', () => {
    const item = itemOf(encodingVectors.unitData.find((v) => (v.items?.length ?? 0) > 0)!.items![0]!);
    const itemBytes = encodeConsensusItem(item).length;
    for (const count of [0, 1, 2, 252, 253, 254, 700]) {
      const encoded = unwrap(encodeUnitData({ kind: 'batch', items: Array.from({ length: count }, () => item) }));
      expect(encodedBatchSize(count * itemBytes, count), `${count} items`).toBe(encoded.length);
    }
  });

  it('answers a signature that is not 64 bytes with a typed error instead of throwing', () => {
    for (const length of [0, 63, 65]) {
      const result = encodeUnitData({ kind: 'signature', signature: new Uint8Array(length) });
      expect(result.ok === false && result.error.kind).toBe('invalidValue');
    }
  });

  it('gives data or a typed error, never a throw, for random bytes and for corrupted vectors', () => {
    const vectors = [...encodingVectors.unitData, ...encodingVectors.unitDataRejected].map((v) => hexToBytes(v.encoded));
    const corrupted = fc.tuple(fc.constantFrom(...vectors), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([bytes, at, value]) => {
      const copy = bytes.slice();
      copy[at % copy.length] = value;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted), (bytes) => {
        const result = decodeUnitData(bytes, defaultModuleCodecs);
        if (result.ok) expect(unwrap(encodeUnitData(result.value))).toEqual(bytes);
        else expect(typeof result.error.kind).toBe('string');
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });
});
