/**
 * ConsensusItem = enum { 0: Transaction, 1: Module { module: u16, body: bytes } }: what guardians
 * submit to the atomic broadcast and what a session orders.
 */
import { z } from 'zod';
import { decode, DecodeFailure, encode, readBody, readVariant, Reader, writeVariant, type Codec, type DecodeResult } from './encoding.ts';
import { bytesToHex, hexToBytes } from './hashing.ts';
import { NO_MODULE_CODECS, perRegistry, type ModuleCodecRegistry } from './module.ts';
import { hexSchema, moduleBodyCodec, transactionCodec, transactionFromJson, transactionJsonSchema, transactionToJson, type Transaction } from './transaction.ts';

export type ConsensusItem = { kind: 'transaction'; tx: Transaction } | { kind: 'module'; module: number; body: Uint8Array };

/** The consensus item codec over `registry`'s modules (one per registry). */
export const consensusItemCodec = perRegistry((registry): Codec<ConsensusItem> => {
  const tx = transactionCodec(registry);
  const moduleItem = moduleBodyCodec(registry, 'item');
  return {
    encode(writer, item) {
      if (item.kind === 'transaction') writeVariant(writer, 0, tx, item.tx);
      else writeVariant(writer, 1, moduleItem, { module: item.module, body: item.body });
    },
    decode(reader) {
      const { variant, variantOffset, body } = readVariant(reader);
      if (variant === 0) return { kind: 'transaction', tx: readBody(body, tx) };
      if (variant === 1) return { kind: 'module', ...readBody(body, moduleItem) };
      return reader.fail('unknownVariant', `unknown consensus item variant ${variant}`, variantOffset);
    },
  };
});

const consensusItemEncoder = consensusItemCodec(NO_MODULE_CODECS);

export function encodeConsensusItem(item: ConsensusItem): Uint8Array {
  return encode(consensusItemEncoder, item);
}

/** Canonical items whose module bodies decode with `registry`'s modules (others are 'unknownModule'). */
export function decodeConsensusItem(bytes: Uint8Array, registry: ModuleCodecRegistry): DecodeResult<ConsensusItem> {
  return decode(consensusItemCodec(registry), bytes);
}

/**
 * The transaction's own encoding inside the bytes of a transaction item (variant 0 then the
 * length-prefixed body), as a view: for `processItem`, which then hashes it rather than re-encoding
 * the decoded transaction. Undefined when the bytes do not start like a transaction item; only
 * meaningful for bytes that `decodeConsensusItem` accepted.
 */
export function encodedTransactionOf(itemBytes: Uint8Array): Uint8Array | undefined {
  if (itemBytes[0] !== 0) return undefined;
  const reader = new Reader(itemBytes);
  try {
    const { variant, body } = readVariant(reader);
    if (variant !== 0) return undefined;
    reader.expectEnd();
    return itemBytes.subarray(body.offset, itemBytes.length);
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return undefined;
    throw thrown;
  }
}

export const consensusItemJsonSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('transaction'), tx: transactionJsonSchema }),
  z.object({ kind: z.literal('module'), module: z.number().int().min(0).max(0xffff), body: hexSchema }),
]);
export type ConsensusItemJson = z.infer<typeof consensusItemJsonSchema>;

export function consensusItemToJson(item: ConsensusItem): ConsensusItemJson {
  return item.kind === 'transaction' ? { kind: 'transaction', tx: transactionToJson(item.tx) } : { kind: 'module', module: item.module, body: bytesToHex(item.body) };
}

/** Validated like bytes from the wire. */
export function consensusItemFromJson(json: ConsensusItemJson, registry: ModuleCodecRegistry): DecodeResult<ConsensusItem> {
  if (json.kind === 'transaction') {
    const tx = transactionFromJson(json.tx, registry);
    return tx.ok ? { ok: true, value: { kind: 'transaction', tx: tx.value } } : tx;
  }
  return decodeConsensusItem(encodeConsensusItem({ kind: 'module', module: json.module, body: hexToBytes(json.body) }), registry);
}
