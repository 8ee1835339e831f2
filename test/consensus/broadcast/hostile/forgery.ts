import type { Alert } from '../../../../src/consensus/broadcast/alerts/alert.ts';
import { combinedHash, withHash, type SignedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { hexToBytes } from '../../../../src/domain/hashing.ts';
import { createHashSigner } from '../support/hashSigner.ts';

/**
 * What a hostile peer can make without anyone's help: well-formed units signed by any simulated key
 * (the hash signer's keys are derivable, so the test can also sign as a forker), and alerts built
 * from them.
 */
export function unitBy(creator: number, round: number, options: { n: number; session: bigint; data?: Uint8Array; signature?: Uint8Array }): SignedUnit {
  const { n, session } = options;
  const parents = Array.from({ length: n }, () => (round === 0 ? undefined : round - 1));
  // The combined hash cannot be checked without the parents; round 0 has the hash of no parents.
  const preUnit = { creator, round, session, controlHash: { parents, combinedHash: combinedHash(round === 0 ? [] : [`${creator}`.padStart(64, '0')]) }, data: options.data ?? new Uint8Array([round & 0xff]) };
  const signature = options.signature ?? createHashSigner(creator, n).sign(hexToBytes(withHash({ preUnit, signature: new Uint8Array(64) }).hash));
  return { preUnit, signature };
}

/** Two validly signed units of `forker` at `round`: a real fork, as a forker can always make. */
export function forkProof(forker: number, round: number, options: { n: number; session: bigint; salt?: number }): [SignedUnit, SignedUnit] {
  const salt = options.salt ?? 0;
  return [unitBy(forker, round, { ...options, data: new Uint8Array([1, salt & 0xff, salt >> 8]) }), unitBy(forker, round, { ...options, data: new Uint8Array([2, salt & 0xff, salt >> 8]) })];
}

export function alertOf(sender: number, forker: number, proof: readonly SignedUnit[], legitUnits: readonly SignedUnit[] = []): Alert {
  return { sender, forker, proof, legitUnits };
}

/** Deterministic garbage of `length` bytes. */
export function garbage(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}
