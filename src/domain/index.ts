/** The public API of fedlog's pure domain core. */
export * from './encoding.ts';
export * from './hashing.ts';
export * from './federation.ts';
export * from './keychain.ts';
export * from './transaction.ts';
export * from './consensusItem.ts';
export * from './sessionOutcome.ts';
export * from './module.ts';
export * from './audit.ts';
export * from './ledger.ts';
export * from './canonicalJson.ts';
export * from './persistentMap.ts';
export * from './modules/consensusModules.ts';
export type { SchnorrBackend, SignatureCheck } from './signatureBackend.ts';
export { nobleBackend } from './signatures/noble.ts';
export * as wallet from './modules/wallet.ts';
export * as mint from './modules/mint.ts';
export * from './itemDescription.ts';
