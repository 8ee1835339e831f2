// @ts-check
/**
 * BIP-340 over libsecp256k1, in either of two builds: native (the copy bundled and compiled by the
 * optional dependency bcrypto, about 5x the WASM build) or WASM (tiny-secp256k1, about 5x noble). A
 * reference implementation answers the cases libsecp256k1's bindings cannot. Plain JavaScript so that
 * the verification worker threads (Node 20 workers cannot load .ts) run exactly the same rules as the
 * main thread.
 */

import { Buffer } from 'node:buffer';

export const NATIVE_SECP_NAME = 'libsecp256k1';
export const TINY_SECP_NAME = 'tiny-secp256k1';

const ZERO_AUX = new Uint8Array(32);

/**
 * @typedef {object} LibsecpCalls the three libsecp256k1 calls, each on 32-byte messages only
 * @property {(secretKey: Uint8Array) => Uint8Array} publicKey
 * @property {(message: Uint8Array, secretKey: Uint8Array, auxRand: Uint8Array) => Uint8Array} sign
 * @property {(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean} verify may throw
 */

/**
 * @param {string} name
 * @param {LibsecpCalls} calls
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} reference a backend whose `verify` never throws
 * @returns {import('../../domain/signatureBackend.ts').SchnorrBackend}
 */
function libsecpBackend(name, calls, reference) {
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

/**
 * @param {import('./libsecpSchnorr.d.mts').TinySecp} secp the loaded tiny-secp256k1 module
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} reference a backend whose `verify` never throws
 * @returns {import('../../domain/signatureBackend.ts').SchnorrBackend}
 */
export function tinySecpSchnorr(secp, reference) {
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

/** bcrypto asserts Buffer arguments; a Buffer view of a Uint8Array copies nothing. @param {Uint8Array} bytes */
const asBuffer = (bytes) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/**
 * @param {import('./libsecpSchnorr.d.mts').BcryptoSchnorr} schnorr bcrypto's native schnorr module (bcrypto/lib/native/schnorr)
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} reference a backend whose `verify` never throws
 * @returns {import('../../domain/signatureBackend.ts').SchnorrBackend}
 */
export function nativeSecpSchnorr(schnorr, reference) {
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
 * @typedef {{ ok: true, backend: import('../../domain/signatureBackend.ts').SchnorrBackend } | { ok: false, reason: string }} BackendLoad
 */

/**
 * A backend, if it builds and passes the self-test; otherwise why not. Never throws: a package
 * that is missing or did not build, no WebAssembly, a module that does not compute BIP-340 are
 * reasons, so the caller can fall back.
 * @param {string} label
 * @param {() => import('../../domain/signatureBackend.ts').SchnorrBackend} build
 * @returns {BackendLoad}
 */
function checkedLoad(label, build) {
  let backend;
  try {
    backend = build();
  } catch (error) {
    return { ok: false, reason: `${label} did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const failure = selfTestFailure(backend);
  return failure === undefined ? { ok: true, backend } : { ok: false, reason: `${label} ${failure}` };
}

/**
 * @param {() => import('./libsecpSchnorr.d.mts').BcryptoSchnorr} loadModule loads bcrypto/lib/native/schnorr
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} reference
 * @returns {BackendLoad}
 */
export const nativeLoad = (loadModule, reference) => checkedLoad('native libsecp256k1 (bcrypto)', () => nativeSecpSchnorr(loadModule(), reference));

/**
 * @param {() => import('./libsecpSchnorr.d.mts').TinySecp} loadModule loads tiny-secp256k1
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} reference
 * @returns {BackendLoad}
 */
export const wasmLoad = (loadModule, reference) => checkedLoad('tiny-secp256k1', () => tinySecpSchnorr(loadModule(), reference));

/**
 * The first of `loads` that loads, in order of preference, and the reasons of those skipped
 * before it; `last` (which cannot fail) when none does.
 * @param {readonly (() => BackendLoad)[]} loads
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} last
 * @returns {{ backend: import('../../domain/signatureBackend.ts').SchnorrBackend, skipped: string[] }}
 */
export function firstLoaded(loads, last) {
  /** @type {string[]} */
  const skipped = [];
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

/** @param {string} hex */
function fromHex(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function equalBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Why a backend must not be used, or undefined when it signs and verifies BIP-340 vector 0.
 * @param {import('../../domain/signatureBackend.ts').SchnorrBackend} backend
 * @returns {string | undefined}
 */
export function selfTestFailure(backend) {
  try {
    const secretKey = fromHex(SELF_TEST.secretKey);
    const message = fromHex(SELF_TEST.message);
    const signature = fromHex(SELF_TEST.signature);
    if (!equalBytes(backend.publicKey(secretKey), fromHex(SELF_TEST.publicKey))) return 'self-test: wrong public key';
    if (!equalBytes(backend.sign(message, secretKey, new Uint8Array(32)), signature)) return 'self-test: wrong signature';
    if (!backend.verify(signature, message, fromHex(SELF_TEST.publicKey))) return 'self-test: valid signature rejected';
    signature[63] = /** @type {number} */ (signature[63]) ^ 1;
    if (backend.verify(signature, message, fromHex(SELF_TEST.publicKey))) return 'self-test: corrupted signature accepted';
    return undefined;
  } catch (error) {
    return `self-test threw: ${error instanceof Error ? error.message : String(error)}`;
  }
}
