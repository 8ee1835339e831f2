/**
 * BIP-340 over libsecp256k1, in either of two builds: native (the copy bundled and compiled by the
 * optional dependency bcrypto, about 5x the WASM build) or WASM (tiny-secp256k1, about 5x noble). A
 * reference implementation answers the cases libsecp256k1's bindings cannot. The verification worker
 * threads run exactly these rules too.
 */

import { Buffer } from 'node:buffer';
import type { SchnorrBackend } from '../../domain/signatureBackend.ts';

/** The part of tiny-secp256k1's API the BIP-340 adapter uses. */
export interface TinySecp {
  xOnlyPointFromScalar(d: Uint8Array): Uint8Array;
  signSchnorr(h: Uint8Array, d: Uint8Array, e?: Uint8Array): Uint8Array;
  verifySchnorr(h: Uint8Array, Q: Uint8Array, signature: Uint8Array): boolean;
}

/** The part of bcrypto's native schnorr module (bcrypto/lib/native/schnorr) the adapter uses; it takes Buffers only. */
export interface BcryptoSchnorr {
  publicKeyCreate(key: Buffer): Buffer;
  sign(msg: Buffer, key: Buffer, aux: Buffer): Buffer;
  verify(msg: Buffer, sig: Buffer, key: Buffer): boolean;
}

export type BackendLoad = { ok: true; backend: SchnorrBackend } | { ok: false; reason: string };

export const NATIVE_SECP_NAME = 'libsecp256k1' as const;
export const TINY_SECP_NAME = 'tiny-secp256k1' as const;

const ZERO_AUX = new Uint8Array(32);

/** The three libsecp256k1 calls, each on 32-byte messages only. */
interface LibsecpCalls {
  publicKey(secretKey: Uint8Array): Uint8Array;
  sign(message: Uint8Array, secretKey: Uint8Array, auxRand: Uint8Array): Uint8Array;
  /** May throw. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** `reference`: a backend whose `verify` never throws. */
function libsecpBackend(name: string, calls: LibsecpCalls, reference: SchnorrBackend): SchnorrBackend {
  return {
    name,
    publicKey: (secretKey) => calls.publicKey(secretKey),
    sign(message, secretKey, auxRand = ZERO_AUX) {
      // The bindings only sign 32-byte messages; BIP-340 allows any length. fedlog only ever signs
      // 32-byte digests, so other lengths take the (slower) reference path.
      if (message.length !== 32) return reference.sign(message, secretKey, auxRand);
      return calls.sign(message, secretKey, auxRand);
    },
    verify(signature, message, publicKey) {
      if (message.length !== 32) return reference.verify(signature, message, publicKey);
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      try {
        return calls.verify(signature, message, publicKey);
      } catch {
        // tiny-secp256k1 throws where BIP-340 answers: a key that is not on the curve or >= p,
        // s >= n, and r >= n -- which is still valid when n <= r < p. The reference answers all of
        // these exactly (cheaply, except the astronomically rare honest r in [n, p)), so an attacker
        // cannot turn a malformed signature into a crash or a wrong answer.
        return reference.verify(signature, message, publicKey);
      }
    },
  };
}

/** `secp`: the loaded tiny-secp256k1 module; `reference`: a backend whose `verify` never throws. */
export function tinySecpSchnorr(secp: TinySecp, reference: SchnorrBackend): SchnorrBackend {
  return libsecpBackend(
    TINY_SECP_NAME,
    {
      publicKey: (secretKey) => secp.xOnlyPointFromScalar(secretKey),
      sign: (message, secretKey, auxRand) => secp.signSchnorr(message, secretKey, auxRand),
      verify: (signature, message, publicKey) => secp.verifySchnorr(message, publicKey, signature),
    },
    reference,
  );
}

/** bcrypto asserts Buffer arguments; a Buffer view of a Uint8Array copies nothing. */
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** `schnorr`: bcrypto's native schnorr module (bcrypto/lib/native/schnorr); `reference`: a backend whose `verify` never throws. */
export function nativeSecpSchnorr(schnorr: BcryptoSchnorr, reference: SchnorrBackend): SchnorrBackend {
  return libsecpBackend(
    NATIVE_SECP_NAME,
    {
      publicKey: (secretKey) => schnorr.publicKeyCreate(asBuffer(secretKey)),
      sign: (message, secretKey, auxRand) => schnorr.sign(asBuffer(message), asBuffer(secretKey), asBuffer(auxRand)),
      verify: (signature, message, publicKey) => schnorr.verify(asBuffer(message), asBuffer(signature), asBuffer(publicKey)),
    },
    reference,
  );
}

/**
 * A backend, if it builds and passes the self-test; otherwise why not. Never throws: a package
 * that is missing or did not build, no WebAssembly, a module that does not compute BIP-340 are
 * reasons, so the caller can fall back.
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

/** `loadModule` loads bcrypto/lib/native/schnorr. */
export const nativeLoad = (loadModule: () => BcryptoSchnorr, reference: SchnorrBackend): BackendLoad => checkedLoad('native libsecp256k1 (bcrypto)', () => nativeSecpSchnorr(loadModule(), reference));

/** `loadModule` loads tiny-secp256k1. */
export const wasmLoad = (loadModule: () => TinySecp, reference: SchnorrBackend): BackendLoad => checkedLoad('tiny-secp256k1', () => tinySecpSchnorr(loadModule(), reference));

/**
 * The first of `loads` that loads, in order of preference, and the reasons of those skipped
 * before it; `last` (which cannot fail) when none does.
 */
export function firstLoaded(loads: readonly (() => BackendLoad)[], last: SchnorrBackend): { backend: SchnorrBackend; skipped: string[] } {
  const skipped: string[] = [];
  for (const load of loads) {
    const result = load();
    if (result.ok) return { backend: result.backend, skipped };
    skipped.push(result.reason);
  }
  return { backend: last, skipped };
}

// BIP-340 test vector 0: signing it and verifying it proves the WASM module computes BIP-340.
const SELF_TEST = {
  secretKey: '0000000000000000000000000000000000000000000000000000000000000003',
  publicKey: 'f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9',
  message: '0000000000000000000000000000000000000000000000000000000000000000',
  signature:
    'e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca821525f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0',
};

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Why a backend must not be used, or undefined when it signs and verifies BIP-340 vector 0. */
export function selfTestFailure(backend: SchnorrBackend): string | undefined {
  try {
    const secretKey = fromHex(SELF_TEST.secretKey);
    const message = fromHex(SELF_TEST.message);
    const signature = fromHex(SELF_TEST.signature);
    if (!equalBytes(backend.publicKey(secretKey), fromHex(SELF_TEST.publicKey))) return 'self-test: wrong public key';
    if (!equalBytes(backend.sign(message, secretKey, new Uint8Array(32)), signature)) return 'self-test: wrong signature';
    if (!backend.verify(signature, message, fromHex(SELF_TEST.publicKey))) return 'self-test: valid signature rejected';
    signature[63] = signature[63]! ^ 1;
    if (backend.verify(signature, message, fromHex(SELF_TEST.publicKey))) return 'self-test: corrupted signature accepted';
    return undefined;
  } catch (error) {
    return `self-test threw: ${error instanceof Error ? error.message : String(error)}`;
  }
}
