/**
 * UnitData = enum { 0: Batch(Vec<ConsensusItem>), 1: Signature([u8;64]) } (DESIGN.md): the data of
 * one broadcast unit, a batch of items its creator proposes or the creator's signature of header(i).
 * At most MAX_UNIT_DATA_BYTES encoded, checked both ways: a guardian never makes a unit its peers
 * would refuse, and a peer cannot make us decode (or store) an oversized one.
 */
import { bytes64, decode, readBody, readVariant, vec, Writer, writeVariant, type Codec, type DecodeError } from './encoding.ts';
import { consensusItemCodec, type ConsensusItem } from './consensusItem.ts';
import { NO_MODULE_CODECS, perRegistry, type ModuleCodecRegistry } from './module.ts';

/** DESIGN.md: so that a largest (50,000-byte) transaction always fits in a batch of its own. */
export const MAX_UNIT_DATA_BYTES = 60_000;

export type UnitData = { kind: 'batch'; items: readonly ConsensusItem[] } | { kind: 'signature'; signature: Uint8Array };

export type UnitDataError =
  /** Not the canonical encoding of a UnitData (decoding). */
  | DecodeError
  /** Over MAX_UNIT_DATA_BYTES encoded (encoding or decoding). */
  | { kind: 'tooLarge'; size: number; limit: number; message: string }
  /** A value outside its type, e.g. a signature that is not 64 bytes (encoding). */
  | { kind: 'invalidValue'; message: string };

export type UnitDataResult<T> = { ok: true; value: T } | { ok: false; error: UnitDataError };

const unitDataCodec = perRegistry((registry): Codec<UnitData> => {
  const items = vec(consensusItemCodec(registry));
  return {
    encode(writer, data) {
      if (data.kind === 'batch') writeVariant(writer, 0, items, data.items);
      else writeVariant(writer, 1, bytes64, data.signature);
    },
    decode(reader) {
      const { variant, variantOffset, body } = readVariant(reader);
      if (variant === 0) return { kind: 'batch', items: readBody(body, items) };
      if (variant === 1) return { kind: 'signature', signature: readBody(body, bytes64) };
      return reader.fail('unknownVariant', `unknown unit data variant ${variant}`, variantOffset);
    },
  };
});

const tooLarge = (size: number): UnitDataResult<never> => ({
  ok: false,
  error: { kind: 'tooLarge', size, limit: MAX_UNIT_DATA_BYTES, message: `unit data of ${size} bytes exceeds ${MAX_UNIT_DATA_BYTES}` },
});

/** The canonical encoding, or why it cannot be sent: over the size limit, or a value outside its type. */
export function encodeUnitData(data: UnitData): UnitDataResult<Uint8Array> {
  const writer = new Writer();
  try {
    unitDataCodec(NO_MODULE_CODECS).encode(writer, data);
  } catch (thrown) {
    // The encoders throw RangeError only for values outside their type (encoding.ts).
    if (thrown instanceof RangeError) return { ok: false, error: { kind: 'invalidValue', message: thrown.message } };
    throw thrown;
  }
  const encoded = writer.finish();
  return encoded.length > MAX_UNIT_DATA_BYTES ? tooLarge(encoded.length) : { ok: true, value: encoded };
}

/** A UnitData whose items decode with `registry`'s modules; never throws, whatever the bytes. */
export function decodeUnitData(bytes: Uint8Array, registry: ModuleCodecRegistry): UnitDataResult<UnitData> {
  // Checked before decoding: an oversized unit is refused without reading its items.
  if (bytes.length > MAX_UNIT_DATA_BYTES) return tooLarge(bytes.length);
  return decode(unitDataCodec(registry), bytes);
}

/**
 * The encoded size of a batch whose items take `itemBytes` encoded, `itemCount` of them: what a
 * proposer checks against MAX_UNIT_DATA_BYTES before adding an item (the enum and Vec prefixes
 * count too).
 */
export function encodedBatchSize(itemBytes: number, itemCount: number): number {
  const body = bigSizeLength(itemCount) + itemBytes;
  return 1 + bigSizeLength(body) + body;
}

function bigSizeLength(value: number): number {
  return value < 0xfd ? 1 : value <= 0xffff ? 3 : value <= 0xffffffff ? 5 : 9;
}
