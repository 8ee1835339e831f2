// @ts-check
/**
 * A verification worker thread of the batch verifier (batchVerifier.ts). Plain JavaScript because
 * Node 20 workers cannot load .ts. It receives `{ id, buffer }` (checks packed by checkBuffer.mjs,
 * transferred) and answers `{ id, results }`: one byte per check, 1 = valid, transferred back.
 * Its first message is `{ ready: true, backend, fallbackReason? }` so the owner can log a fallback.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { schnorr } from '@noble/curves/secp256k1.js';
import { unpackChecks } from './checkBuffer.mjs';
import { TINY_SECP_NAME, selfTestFailure, tinySecpSchnorr } from './tinySecpSchnorr.mjs';

if (!parentPort) throw new Error('verifyWorker.mjs must run as a worker thread');
const port = parentPort;

const ZERO_AUX = new Uint8Array(32);
/** @type {import('../signatureBackend.ts').SchnorrBackend} the same adapter as noble.ts */
const noble = {
  name: 'noble',
  publicKey: (secretKey) => schnorr.getPublicKey(secretKey),
  sign: (message, secretKey, auxRand = ZERO_AUX) => schnorr.sign(message, secretKey, auxRand),
  verify(signature, message, publicKey) {
    try {
      return schnorr.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};

/** @param {unknown} wanted @returns {Promise<{ backend: import('../signatureBackend.ts').SchnorrBackend, fallbackReason?: string }>} */
async function chooseBackend(wanted) {
  if (wanted !== TINY_SECP_NAME) return { backend: noble };
  try {
    const backend = tinySecpSchnorr(await import('tiny-secp256k1'), noble);
    const failure = selfTestFailure(backend);
    return failure === undefined ? { backend } : { backend: noble, fallbackReason: failure };
  } catch (error) {
    return { backend: noble, fallbackReason: `tiny-secp256k1 did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const { backend, fallbackReason } = await chooseBackend(workerData?.backend);

port.on('message', (/** @type {{ id: number, buffer: ArrayBuffer }} */ { id, buffer }) => {
  const checks = unpackChecks(buffer);
  const results = new Uint8Array(checks.length);
  checks.forEach((c, i) => {
    results[i] = backend.verify(c.signature, c.message, c.publicKey) ? 1 : 0;
  });
  port.postMessage({ id, results: results.buffer }, [results.buffer]);
});
port.postMessage({ ready: true, backend: backend.name, ...(fallbackReason === undefined ? {} : { fallbackReason }) });
