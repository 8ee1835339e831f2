import { createRequire } from 'node:module';
import { nobleBackend } from '../../domain/signatures/noble.ts';
import { nativeLoad, wasmLoad, type BackendLoad, type BcryptoSchnorr, type TinySecp } from './libsecpSchnorr.ts';

export type { BackendLoad };

const require = createRequire(import.meta.url);

/**
 * libsecp256k1 compiled natively by the optional dependency bcrypto (its own bundled copy, built by
 * node-gyp at install): about 5x the WASM build's speed, for signing and verifying alike. Loaded
 * synchronously (CommonJS) so that callers get a backend, not a promise; a failure is a reason.
 */
export function loadNativeBackend(load: () => BcryptoSchnorr = () => require('bcrypto/lib/native/schnorr') as BcryptoSchnorr): BackendLoad {
  return nativeLoad(load, nobleBackend);
}

/** libsecp256k1 compiled to WASM (tiny-secp256k1), about 5x noble's verification speed. */
export function loadWasmBackend(load: () => TinySecp = () => require('tiny-secp256k1') as TinySecp): BackendLoad {
  return wasmLoad(load, nobleBackend);
}
