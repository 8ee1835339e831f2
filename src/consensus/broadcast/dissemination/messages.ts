/**
 * Everything broadcast nodes say to each other, as one consensus-encoded enum:
 *
 *   0 Unit(SignedUnit)                               a new unit, a rebroadcast or an answer
 *   1 CoordRequest { creator: u16, round: u32 }      "send me the unit at this coordinate"
 *   2 ParentsRequest { hash: [u8;32] }               "send me this unit's parents" (control-hash mismatch)
 *   3 ParentsResponse { hash: [u8;32], parents: Vec<SignedUnit> }   in creator order
 *   4 NewestUnitRequest { nonce: u64 }               a restarted node asks for its own newest unit
 *   5 NewestUnitResponse { nonce: u64, unit: Option<SignedUnit> }
 *   6 Alert(Alert)
 *   7 AlertSignature { alertHash: [u8;32], signature: [u8;64] }     the link's peer signs the alert
 *   8 AlertCommitted { alert: Alert, signatures: Map<u16, [u8;64]> } threshold signatures: final
 */
import { bytes32, bytes64, decode, encode, enumeration, map, option, struct, u16, u32, u64, vec, type DecodeResult, type EnumType } from '../../../domain/encoding.ts';
import { alertCodec } from '../alerts/alert.ts';
import { signedUnitCodec } from '../unit.ts';

const messageVariants = {
  unit: [0, signedUnitCodec],
  coordRequest: [1, struct({ creator: u16, round: u32 })],
  parentsRequest: [2, struct({ hash: bytes32 })],
  parentsResponse: [3, struct({ hash: bytes32, parents: vec(signedUnitCodec) })],
  newestUnitRequest: [4, struct({ nonce: u64 })],
  newestUnitResponse: [5, struct({ nonce: u64, unit: option(signedUnitCodec) })],
  alert: [6, alertCodec],
  alertSignature: [7, struct({ alertHash: bytes32, signature: bytes64 })],
  alertCommitted: [8, struct({ alert: alertCodec, signatures: map(u16, bytes64) })],
} as const;

export const messageCodec = enumeration(messageVariants);
export type BroadcastMessage = EnumType<typeof messageVariants>;

export function encodeMessage(message: BroadcastMessage): Uint8Array {
  return encode(messageCodec, message);
}

/** Never throws: bad bytes from the wire are a typed DecodeError. */
export function decodeMessage(bytes: Uint8Array): DecodeResult<BroadcastMessage> {
  return decode(messageCodec, bytes);
}
