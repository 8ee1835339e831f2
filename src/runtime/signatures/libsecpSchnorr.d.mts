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

export declare const NATIVE_SECP_NAME: 'libsecp256k1';
export declare const TINY_SECP_NAME: 'tiny-secp256k1';
export declare function tinySecpSchnorr(secp: TinySecp, reference: SchnorrBackend): SchnorrBackend;
export declare function nativeSecpSchnorr(schnorr: BcryptoSchnorr, reference: SchnorrBackend): SchnorrBackend;
export declare function selfTestFailure(backend: SchnorrBackend): string | undefined;

export type BackendLoad = { ok: true; backend: SchnorrBackend } | { ok: false; reason: string };
export declare function nativeLoad(loadModule: () => BcryptoSchnorr, reference: SchnorrBackend): BackendLoad;
export declare function wasmLoad(loadModule: () => TinySecp, reference: SchnorrBackend): BackendLoad;
export declare function firstLoaded(loads: readonly (() => BackendLoad)[], last: SchnorrBackend): { backend: SchnorrBackend; skipped: string[] };
