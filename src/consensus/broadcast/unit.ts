/**
 * Broadcast units: what a guardian creates each round, and their consensus encoding.
 *
 *   ControlHash = { parents: Vec<Option<u32>> (one round per creator, n entries), combinedHash: [u8;32] }
 *   PreUnit     = { creator: u16, round: u32, session: u64, controlHash: ControlHash, data: bytes }
 *   SignedUnit  = { preUnit: PreUnit, signature: [u8;64] }
 *   unit hash   = sha256(enc(PreUnit)); the signature is over signedDigest(tag, unit hash)
 *   combinedHash = sha256(concatenation of the parents' unit hashes in creator order)
 */
import { bytes, bytes32, bytes64, decode, encode, option, struct, u16, u32, u64, vec, type Codec, type DecodeResult } from '../../domain/encoding.ts';
import { bytesToHex, hexToBytes, sha256, sha256Concat } from '../../domain/hashing.ts';

export interface ControlHash {
  /** The parent's round per creator, undefined where the unit has no parent of that creator. */
  parents: readonly (number | undefined)[];
  combinedHash: Uint8Array;
}

export interface PreUnit {
  creator: number;
  round: number;
  session: bigint;
  controlHash: ControlHash;
  data: Uint8Array;
}

export interface SignedUnit {
  preUnit: PreUnit;
  signature: Uint8Array;
}

const controlHashCodec: Codec<ControlHash> = struct({ parents: vec(option(u32)), combinedHash: bytes32 });
export const preUnitCodec: Codec<PreUnit> = struct({ creator: u16, round: u32, session: u64, controlHash: controlHashCodec, data: bytes });
export const signedUnitCodec: Codec<SignedUnit> = struct({ preUnit: preUnitCodec, signature: bytes64 });

/** The unit hash as lowercase hex: the key the DAG and the ordering use. */
export function unitHash(preUnit: PreUnit): string {
  return bytesToHex(sha256(encode(preUnitCodec, preUnit)));
}

export function combinedHash(parentHashes: readonly string[]): Uint8Array {
  return sha256Concat(...parentHashes.map((h) => hexToBytes(h)));
}

export function encodeUnit(unit: SignedUnit): Uint8Array {
  return encode(signedUnitCodec, unit);
}

export function decodeUnit(raw: Uint8Array): DecodeResult<SignedUnit> {
  return decode(signedUnitCodec, raw);
}

/** "creator/round": one slot; two different units in one slot are a fork. */
export function coordKey(creator: number, round: number): string {
  return `${creator}/${round}`;
}

/** A unit with its hash computed once. */
export interface HashedUnit {
  hash: string;
  unit: SignedUnit;
}

export function withHash(unit: SignedUnit): HashedUnit {
  return { hash: unitHash(unit.preUnit), unit };
}
