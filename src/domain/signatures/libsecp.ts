import { createRequire } from 'node:module';
import type { SchnorrBackend } from '../signatureBackend.ts';
import { nobleBackend } from './noble.ts';
import { nativeSecpSchnorr, selfTestFailure, tinySecpSchnorr, type BcryptoSchnorr, type TinySecp } from './libsecpSchnorr.mjs';

export type BackendLoad = { ok: true; backend: SchnorrBackend } | { ok: false; reason: string };

const require = createRequire(import.meta.url);

/**
 * A libsecp256k1 backend, loaded synchronously (CommonJS) so that callers get a backend, not a
 * promise. Any failure (a package that is missing or did not build, no WebAssembly, a module that
 * does not compute BIP-340) is returned as a reason, never thrown, so the caller can fall back.
 */
function checkedLoad(label: string, build: () => SchnorrBackend): BackendLoad {
  let backend: SchnorrBackend;
  try {
    backend = build();
  } catch (error) {
    return { ok: false, reason: `${label} did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const failure = selfTestFailure(backend);
  return failure === undefined ? { ok: true, backend } : { ok: false, reason: `${label} ${failure}` };
}

/**
 * libsecp256k1 compiled natively by the optional dependency bcrypto (its own bundled copy, built by
 * node-gyp at install): about 5x the WASM build's speed, for signing and verifying alike.
 */
export function loadNativeBackend(load: () => BcryptoSchnorr = () => require('bcrypto/lib/native/schnorr') as BcryptoSchnorr): BackendLoad {
  return checkedLoad('native libsecp256k1 (bcrypto)', () => nativeSecpSchnorr(load(), nobleBackend));
}

/** libsecp256k1 compiled to WASM (tiny-secp256k1), about 5x noble's verification speed. */
export function loadWasmBackend(load: () => TinySecp = () => require('tiny-secp256k1') as TinySecp): BackendLoad {
  return checkedLoad('tiny-secp256k1', () => tinySecpSchnorr(load(), nobleBackend));
}
