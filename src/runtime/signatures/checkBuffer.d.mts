import type { SignatureCheck } from '../../domain/signatureBackend.ts';

export declare function packChecks(checks: readonly SignatureCheck[]): ArrayBuffer;
export declare function unpackChecks(buffer: ArrayBuffer): SignatureCheck[];
