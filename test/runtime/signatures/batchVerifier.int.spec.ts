import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { SchnorrBackend, SignatureCheck } from '../../../src/domain/signatureBackend.ts';
import { BatchVerifierClosedError, createBatchVerifier, INLINE_BELOW, type BatchVerifier } from '../../../src/runtime/signatures/batchVerifier.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { loadNativeBackend, loadWasmBackend } from '../../../src/runtime/signatures/libsecp.ts';
import { loadBip340Vectors } from '../../domain/signatures/bip340Vectors.ts';

const vectors = loadBip340Vectors();
const checks: SignatureCheck[] = vectors.map(({ signature, message, publicKey }) => ({ signature, message, publicKey }));
const expected = vectors.map((v) => v.valid);
const load = loadWasmBackend();
if (!load.ok) throw new Error(`tiny-secp256k1 must load in the test environment: ${load.reason}`);
const wasm = load.backend;
const nativeLoad = loadNativeBackend();
if (!nativeLoad.ok) throw new Error(`native libsecp256k1 must load in the test environment: ${nativeLoad.reason}`);
const native = nativeLoad.backend;

const open: BatchVerifier[] = [];
function verifier(...args: Parameters<typeof createBatchVerifier>): BatchVerifier {
  const v = createBatchVerifier(...args);
  open.push(v);
  return v;
}
afterAll(() => Promise.all(open.map((v) => v.close())));

// Every vector row several times over, so a large batch spans many chunks with a known answer per position.
const cycled = (count: number) => ({
  checks: Array.from({ length: count }, (_, i) => checks[i % checks.length]!),
  expected: Array.from({ length: count }, (_, i) => expected[i % expected.length]!),
});

describe.each([nobleBackend, wasm, native])('batch verification with $name', (backend) => {
  const batch = verifier({ backend, workers: 2 });

  it('verifies every BIP-340 row inline to the listed result, in order', async () => {
    expect(await batch.verifyBatch(checks, { mode: 'inline' })).toEqual(expected);
  });

  it('verifies every BIP-340 row on worker threads to the listed result, in order', async () => {
    expect(await batch.verifyBatch(checks, { mode: 'workers' })).toEqual(expected);
  });

  it('reassembles a batch split into many chunks in order', async () => {
    const big = cycled(backend === nobleBackend ? 200 : 600);
    expect(await batch.verifyBatch(big.checks, { mode: 'workers' })).toEqual(big.expected);
  });
});

describe('the batch verifier', () => {
  it('verifies small batches inline and large ones on workers', async () => {
    const verify = vi.fn(nobleBackend.verify);
    const spied: SchnorrBackend = { ...nobleBackend, verify };
    const batch = verifier({ backend: spied, workers: 1, inlineBelow: 4 });
    expect(await batch.verifyBatch(checks.slice(0, 3))).toEqual(expected.slice(0, 3));
    expect(verify).toHaveBeenCalledTimes(3);
    expect(await batch.verifyBatch(checks.slice(0, 4))).toEqual(expected.slice(0, 4));
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('has a measured default threshold', () => {
    expect(INLINE_BELOW).toBeGreaterThan(1);
  });

  it('answers concurrent batches independently', async () => {
    const batch = verifier({ backend: wasm, workers: 2 });
    const a = cycled(150);
    const b = cycled(151);
    const reversed = { checks: [...b.checks].reverse(), expected: [...b.expected].reverse() };
    const [ra, rb] = await Promise.all([batch.verifyBatch(a.checks, { mode: 'workers' }), batch.verifyBatch(reversed.checks, { mode: 'workers' })]);
    expect(ra).toEqual(a.expected);
    expect(rb).toEqual(reversed.expected);
  });

  it('runs the backend it was given on its workers, with no fallback to report', async () => {
    for (const backend of [wasm, native]) {
      const onFallback = vi.fn();
      const batch = verifier({ backend, workers: 1, onFallback });
      expect(await batch.verifyBatch(checks, { mode: 'workers' })).toEqual(expected);
      expect(onFallback).not.toHaveBeenCalled();
    }
  });

  it('sends a batch of at most minChunk checks to one worker in one message', async () => {
    const post = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const batch = verifier({ backend: native, workers: 2, minChunk: 64 });
      const small = cycled(60);
      expect(await batch.verifyBatch(small.checks, { mode: 'workers' })).toEqual(small.expected);
      expect(post).toHaveBeenCalledTimes(1);
      const spread = verifier({ backend: native, workers: 2 });
      expect(await spread.verifyBatch(small.checks, { mode: 'workers' })).toEqual(small.expected);
      expect(post).toHaveBeenCalledTimes(3);
    } finally {
      post.mockRestore();
    }
    expect(() => createBatchVerifier({ backend: native, workers: 1, minChunk: 0 })).toThrow(RangeError);
  });

  it('runs its worker threads at the priority asked for (Linux: a nice value per thread)', async () => {
    // A nice value no other thread of this process has: only the verifier's workers can hold it.
    const niceThreads = () =>
      existsSync('/proc/self/task')
        ? readdirSync('/proc/self/task').filter((t) => {
            try {
              const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
              return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '7';
            } catch {
              return false; // the thread ended meanwhile
            }
          }).length
        : 0;
    const before = niceThreads();
    const batch = verifier({ backend: native, workers: 2, workerPriority: 7 });
    expect(await batch.verifyBatch(cycled(200).checks, { mode: 'workers' })).toEqual(cycled(200).expected);
    if (existsSync('/proc/self/task')) expect(niceThreads() - before).toBe(2);
  });

  it('answers an empty batch without work', async () => {
    expect(await verifier({ backend: wasm, workers: 1 }).verifyBatch([], { mode: 'workers' })).toEqual([]);
  });

  it('rejects a pending batch and every later one once closed', async () => {
    const batch = createBatchVerifier({ backend: nobleBackend, workers: 1 });
    const pending = expect(batch.verifyBatch(cycled(400).checks, { mode: 'workers' })).rejects.toBeInstanceOf(BatchVerifierClosedError);
    await batch.close();
    await pending;
    await expect(batch.verifyBatch(checks)).rejects.toBeInstanceOf(BatchVerifierClosedError);
    await batch.close(); // idempotent
  });

  it('rejects a batch whose signal aborts, and keeps serving others', async () => {
    const batch = verifier({ backend: nobleBackend, workers: 1 });
    const controller = new AbortController();
    const aborted = expect(batch.verifyBatch(cycled(400).checks, { mode: 'workers', signal: controller.signal })).rejects.toThrow('shutting down');
    controller.abort(new Error('shutting down'));
    await aborted;
    await expect(batch.verifyBatch(checks, { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(await batch.verifyBatch(checks, { mode: 'workers' })).toEqual(expected);
  });

  it('refuses a backend its workers cannot load, unless it has no workers', () => {
    const custom: SchnorrBackend = { ...nobleBackend, name: 'custom' };
    expect(() => createBatchVerifier({ backend: custom, workers: 1 })).toThrow(TypeError);
    expect(() => createBatchVerifier({ backend: custom, workers: 0 })).not.toThrow();
  });

  it('with no workers, verifies inline and refuses a forced worker batch', async () => {
    const batch = verifier({ backend: wasm, workers: 0 });
    expect(await batch.verifyBatch(cycled(100).checks)).toEqual(cycled(100).expected);
    await expect(batch.verifyBatch(checks, { mode: 'workers' })).rejects.toBeInstanceOf(RangeError);
  });

  it('keeps the process alive while a batch runs, and lets it exit when idle without close()', async () => {
    const moduleUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'runtime', 'signatures', 'batchVerifier.ts')).href;
    const script = `
      const { createBatchVerifier } = await import(${JSON.stringify(moduleUrl)});
      const batch = createBatchVerifier({ workers: 2 });
      const c = { signature: new Uint8Array(64), message: new Uint8Array(32), publicKey: new Uint8Array(32) };
      const first = await batch.verifyBatch(Array(50).fill(c), { mode: 'workers' });
      // the workers are idle (unref'd) here: the second batch must ref them again until it is answered
      const second = await batch.verifyBatch(Array(50).fill(c), { mode: 'workers' });
      console.log('verified', first.length + second.length, [...first, ...second].some(Boolean));
    `;
    // A script file, not -e: worker threads inherit execArgv, and '--input-type' without '-e' breaks them.
    const dir = mkdtempSync(join(tmpdir(), 'fedlog-batch-'));
    try {
      writeFileSync(join(dir, 'idleVerifier.mjs'), script);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(dir, 'idleVerifier.mjs')], { timeout: 20_000 });
      expect(stdout.trim()).toBe('verified 100 false');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
