/** The reference backend: @noble/curves, audited pure TypeScript (shared with the verification workers). */
export { nobleBackend } from './nobleSchnorr.mjs';
