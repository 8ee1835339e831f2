import type { SchnorrBackend } from '../signatureBackend.ts';

export declare const nobleBackend: SchnorrBackend;
