import type { SchnorrBackend } from '../../domain/signatureBackend.ts';
import { nobleBackend } from '../../domain/signatures/noble.ts';
import { loadNativeBackend, loadWasmBackend, type BackendLoad } from './libsecp.ts';
import { firstLoaded } from './libsecpSchnorr.ts';

export type FallbackReporter = (reason: string) => void;

// The domain has no logger; a missing fast path is worth one line on stderr, not a crash.
const warnOnStderr: FallbackReporter = (reason) => console.warn(`signatures: ${reason}`);

let chosen: SchnorrBackend | undefined;

/**
 * The backend callers should use: native libsecp256k1 when it built, loads and passes its self-test,
 * otherwise libsecp256k1 as WASM (tiny-secp256k1), otherwise noble; a fallback is reported once,
 * with the reasons. All give identical answers.
 */
export function fastestBackend(onFallback: FallbackReporter = warnOnStderr): SchnorrBackend {
  return (chosen ??= pickBackend([loadNativeBackend, loadWasmBackend], onFallback));
}

/** The first backend that loads, in order of preference; noble when none does. Each skipped one's reason is reported. */
export function pickBackend(loads: readonly (() => BackendLoad)[], onFallback: FallbackReporter): SchnorrBackend {
  const { backend, skipped } = firstLoaded(loads, nobleBackend);
  if (skipped.length > 0) onFallback(`using ${backend.name} (${skipped.join('; ')})`);
  return backend;
}
