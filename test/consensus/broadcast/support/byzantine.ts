import { decodeWire, encodeWire } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import type { LinkTamper } from '../../../../src/consensus/broadcast/network/simulatedNetwork.ts';
import type { UnitSigner } from '../../../../src/consensus/broadcast/signer.ts';
import { withHash, type SignedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { hexToBytes } from '../../../../src/domain/hashing.ts';

/**
 * Equivocation: every unit of a forker that goes to a peer in the upper half of the federation is
 * replaced by a second, validly signed unit at the same coordinate (different data).
 */
export function equivocate(forkers: readonly number[], n: number, signerOf: (peer: number) => UnitSigner): LinkTamper {
  const variant = (unit: SignedUnit): SignedUnit => {
    const preUnit = { ...unit.preUnit, data: new Uint8Array([...unit.preUnit.data, 0x21]) };
    const hash = withHash({ preUnit, signature: unit.signature }).hash;
    return { preUnit, signature: signerOf(preUnit.creator).sign(hexToBytes(hash)) };
  };
  return (from, to, message) => {
    if (!forkers.includes(from) || to < Math.ceil(n / 2)) return [message];
    const decoded = decodeWire(message);
    if (!decoded.ok || decoded.value.message.kind !== 'unit' || decoded.value.message.value.preUnit.creator !== from) return [message];
    return [encodeWire(decoded.value.session, { kind: 'unit', value: variant(decoded.value.message.value) })];
  };
}

/** Flips one bit of the signature of every unit sent on the link from -> to. */
export function corruptSignatures(linkFrom: number, linkTo: number): LinkTamper {
  return (from, to, message) => {
    if (from !== linkFrom || to !== linkTo) return [message];
    const decoded = decodeWire(message);
    if (!decoded.ok || decoded.value.message.kind !== 'unit') return [message];
    const unit = decoded.value.message.value;
    const signature = unit.signature.slice();
    signature[10]! ^= 0x01;
    return [encodeWire(decoded.value.session, { kind: 'unit', value: { ...unit, signature } })];
  };
}

/** Replaces a message by garbage with probability `rate` (seeded), and withholds one with the same rate. */
export function garbageAndWithholding(random: () => number, rate: number): LinkTamper {
  return (_from, _to, message) => {
    const roll = random();
    if (roll < rate) return [Uint8Array.from(message, () => Math.floor(random() * 256))];
    if (roll < 2 * rate) return [];
    if (roll < 3 * rate) return [message.subarray(0, Math.floor(message.length / 2))];
    return [message];
  };
}
