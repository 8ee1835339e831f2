/**
 * Everything broadcast nodes say to each other, as one consensus-encoded enum inside an envelope:
 *
 *   WireMessage = { version: u8, session: u64, message: Message }     what goes on a link
 *   Message = enum {
 *     0 Unit(SignedUnit)                               a new unit, a rebroadcast or an answer
 *     1 CoordRequest { creator: u16, round: u32 }      "send me the unit at this coordinate"
 *     2 ParentsRequest { hash: [u8;32] }               "send me this unit's parents" (control-hash mismatch)
 *     3 ParentsResponse { hash: [u8;32], parents: Vec<SignedUnit> }   in creator order
 *     4 NewestUnitRequest { nonce: u64 }               a restarted node asks for its own newest unit
 *     5 NewestUnitResponse { nonce: u64, unit: Option<SignedUnit> }
 *     6 Alert(Alert)
 *     7 AlertSignature { alertHash: [u8;32], signature: [u8;64] }     the link's peer signs the alert
 *     8 AlertCommitted { alert: Alert, signatures: Map<u16, [u8;64]> } threshold signatures: final
 *   }
 *
 * The envelope (DESIGN.md "every wire message carries { version, session }") keeps an answer meant
 * for one session from ever satisfying a request of the next.
 */
import { DecodeFailure, Reader, bytes32, bytes64, decode, encode, enumeration, map, option, struct, u16, u32, u64, u8, vec, type DecodeResult, type EnumType } from '../../../domain/encoding.ts';
import { alertCodec } from '../alerts/alert.ts';
import { signedUnitCodec } from '../unit.ts';

/** Bumped when the message enum changes incompatibly; a message of another version is dropped. */
export const WIRE_VERSION = 1;

/** DESIGN.md: a UnitData is at most 60,000 bytes encoded. */
export const MAX_UNIT_DATA_BYTES = 60_000;

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

export interface WireMessage {
  version: number;
  session: bigint;
  message: BroadcastMessage;
}

export const wireCodec = struct({ version: u8, session: u64, message: messageCodec });

export function encodeMessage(message: BroadcastMessage): Uint8Array {
  return encode(messageCodec, message);
}

/** Never throws: bad bytes from the wire are a typed DecodeError. */
export function decodeMessage(bytes: Uint8Array): DecodeResult<BroadcastMessage> {
  return decode(messageCodec, bytes);
}

export function encodeWire(session: bigint, message: BroadcastMessage): Uint8Array {
  return encode(wireCodec, { version: WIRE_VERSION, session, message });
}

/** Never throws. The whole message, envelope and body; check the envelope first with readEnvelope. */
export function decodeWire(bytes: Uint8Array): DecodeResult<WireMessage> {
  return decode(wireCodec, bytes);
}

/**
 * Only the envelope's version and session (a few bytes), so a message of another session or version
 * is dropped without decoding its body.
 */
export function readEnvelope(bytes: Uint8Array): DecodeResult<{ version: number; session: bigint; variant: number }> {
  try {
    const reader = new Reader(bytes);
    return { ok: true, value: { version: u8.decode(reader), session: u64.decode(reader), variant: reader.bigSizeNumber() } };
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return { ok: false, error: thrown.error };
    throw thrown;
  }
}

/** Alerts carry the forker's legit units (up to a session's rounds of them): their frames get a limit of their own. */
export function isAlertVariant(variant: number): boolean {
  return variant >= messageVariants.alert[0];
}

/**
 * The largest encoded unit for a federation of n: its data plus the fixed fields (creator, round,
 * session, n optional parent rounds of up to 7 bytes each, the combined hash, the signature, and
 * the length prefixes), with some slack.
 */
export function maxUnitBytes(n: number, maxDataBytes = MAX_UNIT_DATA_BYTES): number {
  return maxDataBytes + 7 * n + 256;
}

/**
 * The frame limit: room for n + 2 largest units, so a ParentsResponse (n parents) and an alert's two
 * proof units always fit. A larger frame is dropped before it is decoded, so a peer cannot make us
 * allocate or parse megabytes. An alert's legit units must fit in it too (the alerter keeps them
 * small). The TLS transport should use the same limit for its frames.
 */
export function maxMessageBytes(n: number, maxDataBytes = MAX_UNIT_DATA_BYTES): number {
  return (n + 2) * maxUnitBytes(n, maxDataBytes) + 1_024;
}
