/**
 * Transitional: the accumulator lives in the domain (src/domain/merkleAccumulator.ts) and takes its
 * hash pair. This keeps the engine's import working, with the native hash it had, until the engine
 * imports the domain's directly; then this file goes.
 */
import { createMerkleAccumulator as createDomainAccumulator, type MerkleAccumulator } from '../domain/merkleAccumulator.ts';
import { nativeHashPair } from './nativeSha256.ts';

export type { MerkleAccumulator };

/** @deprecated import createMerkleAccumulator from src/domain/merkleAccumulator.ts and pass nativeHashPair. */
export function createMerkleAccumulator(leaves: readonly Uint8Array[] = []): MerkleAccumulator {
  return createDomainAccumulator(nativeHashPair, leaves);
}
