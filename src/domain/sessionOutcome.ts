/**
 * What a session produces: the ordered accepted items, their header, and the threshold of
 * guardian signatures over it that makes the outcome final.
 */
import { z } from 'zod';
import { bytes64, decode, encode, map, vec, Writer, type Codec, type DecodeResult } from './encoding.ts';
import { bytesToHex, header, hexToBytes, sha256, sha256Concat } from './hashing.ts';
import { peerIdCodec, type FederationKeys, type PeerId } from './federation.ts';
import { NO_MODULE_CODECS, perRegistry, type ModuleCodecRegistry } from './module.ts';
import { consensusItemCodec, decodeConsensusItem, encodeConsensusItem, type ConsensusItem } from './consensusItem.ts';
import { checkSignedOutcome } from './signedOutcomeCheck.ts';
import type { SchnorrBackend } from './signatureBackend.ts';
import { nobleBackend } from './signatures/noble.ts';

/** An item as ordered in a session, with the peer whose unit carried it. */
export interface AcceptedItem {
  item: ConsensusItem;
  peer: PeerId;
}

export interface SessionOutcome {
  items: readonly AcceptedItem[];
}

export interface SignedSessionOutcome {
  outcome: SessionOutcome;
  signatures: ReadonlyMap<PeerId, Uint8Array>;
}

export const acceptedItemCodec = perRegistry((registry): Codec<AcceptedItem> => {
  const item = consensusItemCodec(registry);
  return {
    encode(writer, value) {
      item.encode(writer, value.item);
      peerIdCodec.encode(writer, value.peer);
    },
    decode: (reader) => ({ item: item.decode(reader), peer: peerIdCodec.decode(reader) }),
  };
});

export const sessionOutcomeCodec = perRegistry((registry): Codec<SessionOutcome> => {
  const items = vec(acceptedItemCodec(registry));
  return { encode: (writer, value) => items.encode(writer, value.items), decode: (reader) => ({ items: items.decode(reader) }) };
});

export const signedSessionOutcomeCodec = perRegistry((registry): Codec<SignedSessionOutcome> => {
  const outcome = sessionOutcomeCodec(registry);
  const signatures = map(peerIdCodec, bytes64);
  return {
    encode(writer, value) {
      outcome.encode(writer, value.outcome);
      signatures.encode(writer, value.signatures);
    },
    decode: (reader) => ({ outcome: outcome.decode(reader), signatures: signatures.decode(reader) }),
  };
});

export const encodeAcceptedItem = (item: AcceptedItem) => encode(acceptedItemCodec(NO_MODULE_CODECS), item);
export const decodeAcceptedItem = (bytes: Uint8Array, registry: ModuleCodecRegistry): DecodeResult<AcceptedItem> => decode(acceptedItemCodec(registry), bytes);
export const encodeSignedSessionOutcome = (signed: SignedSessionOutcome) => encode(signedSessionOutcomeCodec(NO_MODULE_CODECS), signed);
export const decodeSignedSessionOutcome = (bytes: Uint8Array, registry: ModuleCodecRegistry): DecodeResult<SignedSessionOutcome> => decode(signedSessionOutcomeCodec(registry), bytes);

/** sha256(enc(AcceptedItem)): a merkle leaf of the session header. */
export function acceptedItemHash(item: AcceptedItem): Uint8Array {
  return sha256(encodeAcceptedItem(item));
}

/** The same leaf from an item's consensus encoding, for callers that already hold the bytes. */
export function acceptedItemHashOfEncoded(encodedItem: Uint8Array, peer: PeerId): Uint8Array {
  const writer = new Writer(3);
  writer.bigSizeNumber(peer);
  return sha256Concat(encodedItem, writer.finish());
}

/** header(i) of a session outcome: u64_be(i) || merkle root of its accepted-item hashes. */
export function sessionHeader(session: number | bigint, outcome: SessionOutcome): Uint8Array {
  return header(session, outcome.items.map(acceptedItemHash));
}

/** Whether the outcome's signatures meet the threshold over this session's header (checkSignedOutcome). */
export function verifySignedSessionOutcome(keys: FederationKeys, session: number | bigint, signed: SignedSessionOutcome, backend: SchnorrBackend = nobleBackend): boolean {
  return checkSignedOutcome({ header: sessionHeader(session, signed.outcome), signatures: signed.signatures, keys, backend }).met;
}

// JSON form, as served by GET /v1/sessions/:i/signed: items as consensus-encoding hex.

export const signedSessionOutcomeJsonSchema = z.object({
  items: z.array(z.object({ peer: z.number().int().min(0).max(0xffff), item: z.string().regex(/^(?:[0-9a-f]{2})+$/) })),
  signatures: z.record(z.string().regex(/^(0|[1-9][0-9]*)$/), z.string().regex(/^[0-9a-f]{128}$/)),
});
export type SignedSessionOutcomeJson = z.infer<typeof signedSessionOutcomeJsonSchema>;

export function signedSessionOutcomeToJson(signed: SignedSessionOutcome): SignedSessionOutcomeJson {
  const signatures: Record<string, string> = {};
  for (const peer of [...signed.signatures.keys()].sort((a, b) => a - b)) signatures[String(peer)] = bytesToHex(signed.signatures.get(peer)!);
  return { items: signed.outcome.items.map(({ item, peer }) => ({ peer, item: bytesToHex(encodeConsensusItem(item)) })), signatures };
}

export function signedSessionOutcomeFromJson(json: SignedSessionOutcomeJson, registry: ModuleCodecRegistry): DecodeResult<SignedSessionOutcome> {
  const items: AcceptedItem[] = [];
  for (const { peer, item } of json.items) {
    const decoded = decodeConsensusItem(hexToBytes(item), registry);
    if (!decoded.ok) return decoded;
    items.push({ item: decoded.value, peer });
  }
  const signatures = new Map(Object.entries(json.signatures).map(([peer, signature]) => [Number(peer), hexToBytes(signature)]));
  return { ok: true, value: { outcome: { items }, signatures } };
}
