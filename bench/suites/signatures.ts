/**
 * BIP-340 Schnorr: sign/s and verify/s per backend (noble, libsecp256k1 as WASM and native), the
 * worker-thread batch verifier (native backend) on a batch of 10,000, the speed-up of the fast paths over noble (measured in the same repetitions), and the
 * inline/worker crossover that sets INLINE_BELOW. Every figure is the median of REPEATS runs,
 * measured interleaved so that load on the shared machine hits all of them alike.
 */
import { loadavg } from 'node:os';
import { median, type BenchRow, type BenchSuite } from '../report.ts';
import type { SchnorrBackend, SignatureCheck } from '../../src/domain/signatureBackend.ts';
import { createBatchVerifier, INLINE_BELOW, type BatchVerifier } from '../../src/runtime/signatures/batchVerifier.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { loadNativeBackend, loadWasmBackend, type BackendLoad } from '../../src/runtime/signatures/libsecp.ts';

const SUITE = 'signatures';
const REPEATS = 5;
const DISTINCT = 1_000;
const BATCH = 10_000;
const CROSSOVER_SIZES = [1, 2, 4, 8, 16, 64];

function fixtures(backend: SchnorrBackend): { keys: Uint8Array[]; messages: Uint8Array[]; checks: SignatureCheck[] } {
  const keys: Uint8Array[] = [];
  const messages: Uint8Array[] = [];
  const checks: SignatureCheck[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const key = new Uint8Array(32).fill(7);
    new DataView(key.buffer).setUint32(28, i + 1);
    const message = new Uint8Array(32).fill(i & 0xff);
    new DataView(message.buffer).setUint32(0, i);
    keys.push(key);
    messages.push(message);
    checks.push({ signature: backend.sign(message, key), message, publicKey: backend.publicKey(key) });
  }
  return { keys, messages, checks };
}

function perSecond(count: number, work: () => void): number {
  const start = performance.now();
  work();
  return (count * 1000) / (performance.now() - start);
}

function signRate(backend: SchnorrBackend, count: number, { keys, messages }: ReturnType<typeof fixtures>): number {
  const aux = new Uint8Array(32);
  return perSecond(count, () => {
    for (let i = 0; i < count; i++) backend.sign(messages[i % DISTINCT]!, keys[i % DISTINCT]!, aux);
  });
}

function verifyRate(backend: SchnorrBackend, count: number, checks: SignatureCheck[]): number {
  let valid = 0;
  const rate = perSecond(count, () => {
    for (let i = 0; i < count; i++) {
      const c = checks[i % DISTINCT]!;
      if (backend.verify(c.signature, c.message, c.publicKey)) valid++;
    }
  });
  if (valid !== count) throw new Error(`${backend.name} rejected ${count - valid} valid signatures`);
  return rate;
}

async function batchRate(verifier: BatchVerifier, batch: SignatureCheck[]): Promise<number> {
  const start = performance.now();
  const results = await verifier.verifyBatch(batch);
  const rate = (batch.length * 1000) / (performance.now() - start);
  if (!results.every(Boolean)) throw new Error('the batch verifier rejected valid signatures');
  return rate;
}

/** Milliseconds per batch of `size`, over enough batches to take ~100 ms inline. */
async function msPerBatch(verifier: BatchVerifier, checks: SignatureCheck[], size: number, mode: 'inline' | 'workers'): Promise<number> {
  const rounds = Math.max(5, Math.ceil(400 / size));
  const start = performance.now();
  for (let r = 0; r < rounds; r++) await verifier.verifyBatch(checks.slice(r % 100, (r % 100) + size), { mode });
  return (performance.now() - start) / rounds;
}

const row = (name: string, unit: string, runs: number[], note?: string): BenchRow => ({
  suite: SUITE,
  name,
  unit,
  value: median(runs),
  runs,
  ...(note === undefined ? {} : { note }),
});

const suite: BenchSuite = {
  name: SUITE,
  async run() {
    // Other processes on a 2-core machine decide whether the worker figures can show 2 cores.
    const loadAtStart = loadavg()[0] ?? 0;
    const loaded = (load: BackendLoad) => {
      if (!load.ok) throw new Error(`backend unavailable: ${load.reason}`);
      return load.backend;
    };
    const wasm = loaded(loadWasmBackend());
    const native = loaded(loadNativeBackend());
    const data = fixtures(native);
    const batch = Array.from({ length: BATCH }, (_, i) => data.checks[i % DISTINCT]!);
    const verifier = createBatchVerifier({ backend: native });
    try {
      // Warm-up: JIT and WASM tier-up on this thread, worker start-up and tier-up on the workers.
      verifyRate(wasm, 500, data.checks);
      verifyRate(native, 2_000, data.checks);
      verifyRate(nobleBackend, 100, data.checks);
      await verifier.verifyBatch(batch.slice(0, 2_000), { mode: 'workers' });

      const runs = {
        nobleSign: [] as number[],
        nobleVerify: [] as number[],
        wasmSign: [] as number[],
        wasmVerify: [] as number[],
        nativeSign: [] as number[],
        nativeVerify: [] as number[],
        batch: [] as number[],
      };
      const ratios = { wasm: [] as number[], native: [] as number[], batch: [] as number[] };
      for (let r = 0; r < REPEATS; r++) {
        const nobleVerify = verifyRate(nobleBackend, 300, data.checks);
        const wasmVerify = verifyRate(wasm, 2_000, data.checks);
        const nativeVerify = verifyRate(native, 5_000, data.checks);
        const batched = await batchRate(verifier, batch);
        runs.nobleVerify.push(nobleVerify);
        runs.wasmVerify.push(wasmVerify);
        runs.nativeVerify.push(nativeVerify);
        runs.batch.push(batched);
        ratios.wasm.push(wasmVerify / nobleVerify);
        ratios.native.push(nativeVerify / wasmVerify);
        ratios.batch.push(batched / nobleVerify);
        runs.nobleSign.push(signRate(nobleBackend, 200, data));
        runs.wasmSign.push(signRate(wasm, 2_000, data));
        runs.nativeSign.push(signRate(native, 5_000, data));
      }

      const crossover: BenchRow[] = [];
      for (const size of CROSSOVER_SIZES) {
        const relative: number[] = [];
        for (let r = 0; r < REPEATS; r++) {
          const inline = await msPerBatch(verifier, data.checks, size, 'inline');
          const workers = await msPerBatch(verifier, data.checks, size, 'workers');
          relative.push(workers / inline);
        }
        crossover.push(row(`batch of ${size}: worker time / inline time`, 'x', relative, size === CROSSOVER_SIZES[0] ? `< 1 means workers win; INLINE_BELOW = ${INLINE_BELOW}` : undefined));
      }

      return [
        row('noble sign', 'sign/s', runs.nobleSign),
        row('tiny-secp256k1 sign', 'sign/s', runs.wasmSign),
        row('native libsecp256k1 sign', 'sign/s', runs.nativeSign),
        row('noble verify', 'verify/s', runs.nobleVerify),
        row('tiny-secp256k1 verify', 'verify/s', runs.wasmVerify),
        row('native libsecp256k1 verify', 'verify/s', runs.nativeVerify),
        row(`batch verifier, ${BATCH.toLocaleString('en-US')} checks, ${verifier.workers} workers`, 'verify/s', runs.batch),
        row('verify speed-up: tiny-secp256k1 / noble', 'x', ratios.wasm, 'goal >= 5x; same repetitions'),
        row('verify speed-up: native / tiny-secp256k1', 'x', ratios.native, 'same repetitions'),
        row('verify speed-up: batch verifier / noble', 'x', ratios.batch, 'goal >= 5x; same repetitions'),
        ...crossover,
        row('machine load (1-min average) at start', 'runnable', [loadAtStart], 'worker figures need a free second core'),
      ];
    } finally {
      await verifier.close();
    }
  },
};

export default suite;
