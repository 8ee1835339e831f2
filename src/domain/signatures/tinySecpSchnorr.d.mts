import type { SchnorrBackend } from '../signatureBackend.ts';

/** The part of tiny-secp256k1's API the BIP-340 adapter uses. */
export interface TinySecp {
  xOnlyPointFromScalar(d: Uint8Array): Uint8Array;
  signSchnorr(h: Uint8Array, d: Uint8Array, e?: Uint8Array): Uint8Array;
  verifySchnorr(h: Uint8Array, Q: Uint8Array, signature: Uint8Array): boolean;
}

export declare const TINY_SECP_NAME: 'tiny-secp256k1';
export declare function tinySecpSchnorr(secp: TinySecp, reference: SchnorrBackend): SchnorrBackend;
export declare function selfTestFailure(backend: SchnorrBackend): string | undefined;
