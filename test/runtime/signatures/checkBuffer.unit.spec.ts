import { describe, expect, it } from 'vitest';
import { packChecks, unpackChecks } from '../../../src/runtime/signatures/checkBuffer.ts';

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);

describe('packing signature checks for a worker', () => {
  it('round-trips checks of any length, in order, through one ArrayBuffer', () => {
    const checks = [
      { signature: bytes(64, 1), message: bytes(32, 2), publicKey: bytes(32, 3) },
      { signature: bytes(63, 4), message: bytes(0, 0), publicKey: bytes(33, 5) },
      { signature: bytes(0, 0), message: bytes(100, 6), publicKey: bytes(0, 0) },
    ];
    const buffer = packChecks(checks);
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(buffer.byteLength).toBe(4 * (1 + 3 * 3) + 64 + 32 + 32 + 63 + 33 + 100);
    expect(unpackChecks(buffer)).toEqual(checks);
  });

  it('packs only the viewed bytes of a subarray, not its whole underlying buffer', () => {
    const backing = Uint8Array.from({ length: 200 }, (_, i) => i);
    const check = { signature: backing.subarray(10, 74), message: backing.subarray(100, 132), publicKey: backing.subarray(150, 182) };
    const [unpacked] = unpackChecks(packChecks([check]));
    expect(unpacked).toEqual({ signature: check.signature, message: check.message, publicKey: check.publicKey });
  });

  it('packs an empty batch', () => {
    expect(unpackChecks(packChecks([]))).toEqual([]);
  });
});
