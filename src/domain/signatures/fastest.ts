import type { SchnorrBackend } from '../signatureBackend.ts';
import { nobleBackend } from './noble.ts';
import { loadWasmBackend, type WasmLoad } from './wasm.ts';

export type FallbackReporter = (reason: string) => void;

// The domain has no logger; a missing fast path is worth one line on stderr, not a crash.
const warnOnStderr: FallbackReporter = (reason) => console.warn(`signatures: using noble instead of tiny-secp256k1 (${reason})`);

let chosen: SchnorrBackend | undefined;

/**
 * The backend callers should use: tiny-secp256k1 (WASM) when it loads and passes its self-test,
 * otherwise noble, with the reason reported once. Both give identical answers.
 */
export function fastestBackend(onFallback: FallbackReporter = warnOnStderr): SchnorrBackend {
  return (chosen ??= pickBackend(loadWasmBackend(), onFallback));
}

export function pickBackend(load: WasmLoad, onFallback: FallbackReporter): SchnorrBackend {
  if (load.ok) return load.backend;
  onFallback(load.reason);
  return nobleBackend;
}
