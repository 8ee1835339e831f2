import { createRequire } from 'node:module';
import type { SchnorrBackend } from '../signatureBackend.ts';
import { nobleBackend } from './noble.ts';
import { selfTestFailure, tinySecpSchnorr, type TinySecp } from './tinySecpSchnorr.mjs';

export type WasmLoad = { ok: true; backend: SchnorrBackend } | { ok: false; reason: string };

const require = createRequire(import.meta.url);

/**
 * libsecp256k1 compiled to WASM (tiny-secp256k1), about 5x noble's verification speed. Loaded
 * synchronously through the package's CommonJS build so that callers get a backend, not a promise;
 * any failure (missing package, no WebAssembly, a module that does not compute BIP-340) is returned
 * as a reason, never thrown, so the caller can fall back to noble.
 */
export function loadWasmBackend(load: () => TinySecp = () => require('tiny-secp256k1') as TinySecp): WasmLoad {
  let backend: SchnorrBackend;
  try {
    backend = tinySecpSchnorr(load(), nobleBackend);
  } catch (error) {
    return { ok: false, reason: `tiny-secp256k1 did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const failure = selfTestFailure(backend);
  return failure === undefined ? { ok: true, backend } : { ok: false, reason: `tiny-secp256k1 ${failure}` };
}
