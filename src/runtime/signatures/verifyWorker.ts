/**
 * A verification worker thread of the batch verifier (batchVerifier.ts), loaded compiled from dist/
 * (compiledWorker.ts). It receives `{ id, buffer }` (checks packed by checkBuffer.ts,
 * transferred) and answers `{ id, results }`: one byte per check, 1 = valid, transferred back.
 * Its first message is `{ ready: true, backend, fallbackReason? }` so the owner can log a fallback.
 * workerData: `{ backend, priority? }` (priority: a nice value for this thread alone).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { SchnorrBackend } from '../../domain/signatureBackend.ts';
import { nobleBackend as noble } from '../../domain/signatures/noble.ts';
import { setThreadPriority } from '../threads/threadPriority.ts';
import { unpackChecks } from './checkBuffer.ts';
import { NATIVE_SECP_NAME, TINY_SECP_NAME, firstLoaded, nativeLoad, wasmLoad, type BackendLoad, type BcryptoSchnorr, type TinySecp } from './libsecpSchnorr.ts';

if (!parentPort) throw new Error('verifyWorker must run as a worker thread');
const port = parentPort;
const require = createRequire(import.meta.url);

/**
 * The backend asked for, or the next slower one that loads (native libsecp256k1, then its WASM
 * build, then noble), with the reasons for each skipped, as fastest.ts chooses on the main thread.
 */
function chooseBackend(wanted: unknown): { backend: SchnorrBackend; fallbackReason?: string } {
  const candidates: [string, () => BackendLoad][] = [
    [NATIVE_SECP_NAME, () => nativeLoad(() => require('bcrypto/lib/native/schnorr') as BcryptoSchnorr, noble)],
    [TINY_SECP_NAME, () => wasmLoad(() => require('tiny-secp256k1') as TinySecp, noble)],
  ];
  const from = candidates.findIndex(([name]) => name === wanted);
  if (from < 0) return { backend: noble };
  const { backend, skipped } = firstLoaded(candidates.slice(from).map(([, load]) => load), noble);
  return skipped.length === 0 ? { backend } : { backend, fallbackReason: `uses ${backend.name} (${skipped.join('; ')})` };
}

const data = workerData as { backend?: unknown; priority?: unknown } | undefined;
const { backend, fallbackReason } = chooseBackend(data?.backend);

// Best effort: elsewhere, or without the right to raise it, the thread runs at the process's
// priority, which is correct, only less favourable to the thread that feeds it.
if (typeof data?.priority === 'number') setThreadPriority(data.priority);

port.on('message', ({ id, buffer }: { id: number; buffer: ArrayBuffer }) => {
  const checks = unpackChecks(buffer);
  const results = new Uint8Array(checks.length);
  checks.forEach((c, i) => {
    results[i] = backend.verify(c.signature, c.message, c.publicKey) ? 1 : 0;
  });
  port.postMessage({ id, results: results.buffer }, [results.buffer]);
});
port.postMessage({ ready: true, backend: backend.name, ...(fallbackReason === undefined ? {} : { fallbackReason }) });
