import { describe, expect, it } from 'vitest';
import { fastestBackend } from '../../../src/runtime/signatures/fastest.ts';
import { loadNativeBackend, loadWasmBackend } from '../../../src/runtime/signatures/libsecp.ts';
import { describeBip340Conformance } from '../../domain/signatures/bip340Conformance.ts';

const wasm = loadWasmBackend();
if (!wasm.ok) throw new Error(`tiny-secp256k1 must load in the test environment: ${wasm.reason}`);
const native = loadNativeBackend();
if (!native.ok) throw new Error(`native libsecp256k1 must load in the test environment: ${native.reason}`);

describe('BIP-340 vectors, libsecp256k1 backends', () => {
  it('picks native libsecp256k1 as the fastest backend here', () => {
    expect(fastestBackend().name).toBe('libsecp256k1');
  });

  describeBip340Conformance(wasm.backend.name, wasm.backend);
  describeBip340Conformance(native.backend.name, native.backend);
  describeBip340Conformance(`${fastestBackend().name} (fastestBackend)`, fastestBackend());
});
