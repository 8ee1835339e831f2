import { describe, expect, it, vi } from 'vitest';
import * as tinySecp from 'tiny-secp256k1';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { fastestBackend, pickBackend } from '../../../src/domain/signatures/fastest.ts';
import { loadWasmBackend } from '../../../src/domain/signatures/wasm.ts';

describe('choosing the fastest backend', () => {
  it('loads tiny-secp256k1 when it works', () => {
    const load = loadWasmBackend();
    expect(load.ok && load.backend.name).toBe('tiny-secp256k1');
    expect(fastestBackend().name).toBe('tiny-secp256k1');
  });

  it('reports why, instead of throwing, when the WASM module cannot load', () => {
    const load = loadWasmBackend(() => {
      throw new Error('WebAssembly is not defined');
    });
    expect(load).toEqual({ ok: false, reason: 'tiny-secp256k1 did not load: WebAssembly is not defined' });
  });

  it('refuses a module that loads but does not compute BIP-340', () => {
    const load = loadWasmBackend(() => ({ ...tinySecp, signSchnorr: () => new Uint8Array(64) }));
    expect(load).toEqual({ ok: false, reason: 'tiny-secp256k1 self-test: wrong signature' });
  });

  it('refuses a module that accepts a corrupted signature', () => {
    const load = loadWasmBackend(() => ({ ...tinySecp, verifySchnorr: () => true }));
    expect(load).toEqual({ ok: false, reason: 'tiny-secp256k1 self-test: corrupted signature accepted' });
  });

  it('falls back to noble and logs the reason when the WASM backend is unavailable', () => {
    const onFallback = vi.fn();
    expect(pickBackend({ ok: false, reason: 'no WebAssembly' }, onFallback)).toBe(nobleBackend);
    expect(onFallback).toHaveBeenCalledWith('no WebAssembly');
  });

  it('does not log when the WASM backend is available', () => {
    const onFallback = vi.fn();
    const load = loadWasmBackend();
    expect(pickBackend(load, onFallback).name).toBe('tiny-secp256k1');
    expect(onFallback).not.toHaveBeenCalled();
  });
});
