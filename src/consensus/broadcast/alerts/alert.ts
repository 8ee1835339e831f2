/**
 * A fork alert: proof that `forker` signed two units at one coordinate, plus the forker's units the
 * sender already used (its "legit" units: honest units may reference them, so peers must be able
 * to accept them once the alert is committed).
 *
 *   Alert      = { sender: u16, forker: u16, proof: Vec<SignedUnit> (2), legitUnits: Vec<SignedUnit> }
 *   alert hash = sha256("fedlog/broadcast/alert" || enc(Alert)); peers sign it to commit the alert.
 */
import { u16, vec, struct, encode, type Codec } from '../../../domain/encoding.ts';
import { sha256Concat } from '../../../domain/hashing.ts';
import { signedUnitCodec, type SignedUnit } from '../unit.ts';

export interface Alert {
  sender: number;
  forker: number;
  proof: readonly SignedUnit[];
  legitUnits: readonly SignedUnit[];
}

export const alertCodec: Codec<Alert> = struct({ sender: u16, forker: u16, proof: vec(signedUnitCodec), legitUnits: vec(signedUnitCodec) });

// The domain prefix keeps an alert hash from ever being mistaken for a unit hash under one signature.
const ALERT_DOMAIN = new TextEncoder().encode('fedlog/broadcast/alert');

export function alertHash(alert: Alert): Uint8Array {
  return sha256Concat(ALERT_DOMAIN, encode(alertCodec, alert));
}
