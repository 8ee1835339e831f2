// @ts-check
/**
 * A verification worker thread of the batch verifier (batchVerifier.ts). Plain JavaScript because
 * Node 20 workers cannot load .ts. It receives `{ id, buffer }` (checks packed by checkBuffer.mjs,
 * transferred) and answers `{ id, results }`: one byte per check, 1 = valid, transferred back.
 * Its first message is `{ ready: true, backend, fallbackReason? }` so the owner can log a fallback.
 * workerData: `{ backend, priority? }` (priority: a nice value for this thread alone).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { unpackChecks } from './checkBuffer.mjs';
import { setThreadPriority } from '../threads/threadPriority.mjs';
import { nobleBackend as noble } from '../../domain/signatures/nobleSchnorr.mjs';
import { NATIVE_SECP_NAME, TINY_SECP_NAME, firstLoaded, nativeLoad, wasmLoad } from './libsecpSchnorr.mjs';

if (!parentPort) throw new Error('verifyWorker.mjs must run as a worker thread');
const port = parentPort;
const require = createRequire(import.meta.url);

/**
 * The backend asked for, or the next slower one that loads (native libsecp256k1, then its WASM
 * build, then noble), with the reasons for each skipped, as fastest.ts chooses on the main thread.
 * @param {unknown} wanted
 * @returns {{ backend: import('../../domain/signatureBackend.ts').SchnorrBackend, fallbackReason?: string }}
 */
function chooseBackend(wanted) {
  /** @type {[string, () => import('./libsecpSchnorr.mjs').BackendLoad][]} */
  const candidates = [
    [NATIVE_SECP_NAME, () => nativeLoad(() => require('bcrypto/lib/native/schnorr'), noble)],
    [TINY_SECP_NAME, () => wasmLoad(() => require('tiny-secp256k1'), noble)],
  ];
  const from = candidates.findIndex(([name]) => name === wanted);
  if (from < 0) return { backend: noble };
  const { backend, skipped } = firstLoaded(candidates.slice(from).map(([, load]) => load), noble);
  return skipped.length === 0 ? { backend } : { backend, fallbackReason: `uses ${backend.name} (${skipped.join('; ')})` };
}

const { backend, fallbackReason } = chooseBackend(workerData?.backend);

// Best effort: elsewhere, or without the right to raise it, the thread runs at the process's
// priority, which is correct, only less favourable to the thread that feeds it.
if (typeof workerData?.priority === 'number') setThreadPriority(workerData.priority);

port.on('message', (/** @type {{ id: number, buffer: ArrayBuffer }} */ { id, buffer }) => {
  const checks = unpackChecks(buffer);
  const results = new Uint8Array(checks.length);
  checks.forEach((c, i) => {
    results[i] = backend.verify(c.signature, c.message, c.publicKey) ? 1 : 0;
  });
  port.postMessage({ id, results: results.buffer }, [results.buffer]);
});
port.postMessage({ ready: true, backend: backend.name, ...(fallbackReason === undefined ? {} : { fallbackReason }) });
