import type { ConsensusItem } from '../domain/consensusItem.ts';
import { DecodeFailure, Reader } from '../domain/encoding.ts';
import type { ModuleRegistry } from '../domain/module.ts';
import type { Input } from '../domain/transaction.ts';

/**
 * The item of an ItemAccepted, framed exactly as decodeConsensusItem frames it (variant, module
 * ids, length prefixes, counts, nothing left over) but with bodies, nonce and signatures as views
 * of `bytes`, and module bodies left to the ledger, which decodes each one once with its module's
 * codec (a malformed body is then a rejection: a divergence all the same). decodeConsensusItem
 * decodes every body and copies it twice (for its remembered-body cache) and copies every
 * signature: that was most of what the fold allocated. Also returns the transaction's encoding
 * (a view) for the txid. Undefined when the framing is wrong.
 */
export function frameAcceptedItem(bytes: Uint8Array, modules: ModuleRegistry): { item: ConsensusItem; encodedTransaction?: Uint8Array } | undefined {
  try {
    const reader = new Reader(bytes);
    const variant = reader.bigSizeNumber();
    const length = reader.lengthPrefix();
    const start = reader.offset;
    // The variant's body must be the rest of the bytes (decode's expectEnd).
    if (start + length !== bytes.length) return undefined;
    if (variant === 1) {
      const module = reader.bigSizeNumber(0xffff);
      if (!modules.has(module)) return undefined;
      const body = reader.raw(reader.lengthPrefix());
      return reader.remaining === 0 ? { item: { kind: 'module', module, body } } : undefined;
    }
    if (variant !== 0) return undefined;
    const inputs = frameParts(reader, modules);
    const outputs = frameParts(reader, modules);
    const nonce = reader.raw(8);
    const count = reader.lengthPrefix();
    const signatures: Uint8Array[] = [];
    for (let i = 0; i < count; i++) signatures.push(reader.raw(64));
    if (reader.remaining !== 0) return undefined;
    return { item: { kind: 'transaction', tx: { inputs, outputs, nonce, signatures } }, encodedTransaction: bytes.subarray(start) };
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return undefined;
    throw thrown;
  }
}

/** vec<{ module: u16, body: bytes }> with known modules, bodies as views. */
function frameParts(reader: Reader, modules: ModuleRegistry): Input[] {
  const count = reader.lengthPrefix();
  const parts: Input[] = [];
  for (let i = 0; i < count; i++) {
    const module = reader.bigSizeNumber(0xffff);
    if (!modules.has(module)) reader.fail('unknownModule', `unknown module instance ${module}`);
    parts.push({ module, body: reader.raw(reader.lengthPrefix()) });
  }
  return parts;
}
