import { describe, expect, it, vi } from 'vitest';
import * as tinySecp from 'tiny-secp256k1';
import { createRequire } from 'node:module';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { fastestBackend, pickBackend } from '../../../src/runtime/signatures/fastest.ts';
import { loadNativeBackend, loadWasmBackend, type BackendLoad } from '../../../src/runtime/signatures/libsecp.ts';
import type { BcryptoSchnorr } from '../../../src/runtime/signatures/libsecpSchnorr.ts';

const bcryptoSchnorr = createRequire(import.meta.url)('bcrypto/lib/native/schnorr') as BcryptoSchnorr;
const unavailable = (reason: string) => (): BackendLoad => ({ ok: false, reason });

describe('choosing the fastest backend', () => {
  it('loads native libsecp256k1 when it built, and picks it first', () => {
    const load = loadNativeBackend();
    expect(load.ok && load.backend.name).toBe('libsecp256k1');
    expect(fastestBackend().name).toBe('libsecp256k1');
  });

  it('loads tiny-secp256k1 when it works', () => {
    const load = loadWasmBackend();
    expect(load.ok && load.backend.name).toBe('tiny-secp256k1');
  });

  it('reports why, instead of throwing, when a module cannot load', () => {
    expect(
      loadWasmBackend(() => {
        throw new Error('WebAssembly is not defined');
      }),
    ).toEqual({ ok: false, reason: 'tiny-secp256k1 did not load: WebAssembly is not defined' });
    expect(
      loadNativeBackend(() => {
        throw new Error("Cannot find module 'bcrypto/lib/native/schnorr'");
      }),
    ).toEqual({ ok: false, reason: "native libsecp256k1 (bcrypto) did not load: Cannot find module 'bcrypto/lib/native/schnorr'" });
  });

  it('refuses a module that loads but does not compute BIP-340', () => {
    expect(loadWasmBackend(() => ({ ...tinySecp, signSchnorr: () => new Uint8Array(64) }))).toEqual({ ok: false, reason: 'tiny-secp256k1 self-test: wrong signature' });
    expect(loadNativeBackend(() => ({ ...bcryptoSchnorr, sign: () => Buffer.alloc(64) }))).toEqual({
      ok: false,
      reason: 'native libsecp256k1 (bcrypto) self-test: wrong signature',
    });
  });

  it('refuses a module that accepts a corrupted signature', () => {
    expect(loadWasmBackend(() => ({ ...tinySecp, verifySchnorr: () => true }))).toEqual({ ok: false, reason: 'tiny-secp256k1 self-test: corrupted signature accepted' });
    expect(loadNativeBackend(() => ({ ...bcryptoSchnorr, verify: () => true }))).toEqual({
      ok: false,
      reason: 'native libsecp256k1 (bcrypto) self-test: corrupted signature accepted',
    });
  });

  it('falls back to the next backend that loads, and reports the reasons once', () => {
    const onFallback = vi.fn();
    expect(pickBackend([unavailable('native did not build'), loadWasmBackend], onFallback).name).toBe('tiny-secp256k1');
    expect(onFallback).toHaveBeenCalledExactlyOnceWith('using tiny-secp256k1 (native did not build)');
  });

  it('falls back to noble when nothing else loads', () => {
    const onFallback = vi.fn();
    expect(pickBackend([unavailable('native did not build'), unavailable('no WebAssembly')], onFallback)).toBe(nobleBackend);
    expect(onFallback).toHaveBeenCalledExactlyOnceWith('using noble (native did not build; no WebAssembly)');
  });

  it('does not report anything when the first choice loads', () => {
    const onFallback = vi.fn();
    expect(pickBackend([loadNativeBackend, loadWasmBackend], onFallback).name).toBe('libsecp256k1');
    expect(onFallback).not.toHaveBeenCalled();
  });
});
