import { decodeConsensusItem } from '../domain/consensusItem.ts';
import { decode } from '../domain/encoding.ts';
import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import type { ModuleRegistry } from '../domain/module.ts';
import { createModules } from '../domain/modules/consensusModules.ts';
import { txid, type Input } from '../domain/transaction.ts';
import type { z } from 'zod';
import type { decodedItem } from './schemas.ts';

/**
 * Accepted items rendered for analysts: the consensus bytes decoded with the domain's own codecs
 * (the same ones consensus uses, so what is shown is what was agreed), bytes as hex and u64 as
 * decimal strings. The raw hex stays beside the decoded form so nothing is lost in rendering.
 */
export type DecodedItem = z.output<typeof decodedItem>;
type DecodedPart = NonNullable<DecodedItem['moduleItem']>;

/** The names of each module's (single, version 0) body variants, for readers of the JSON. */
const bodyNames: Record<string, Partial<Record<'item' | 'input' | 'output', string>>> = {
  wallet: { item: 'DepositObserved', input: 'ClaimDeposit', output: 'Withdraw' },
  mint: { input: 'SpendNote', output: 'IssueNote' },
};

export interface ItemViewer {
  render(item: { index: number; peer: number; item: string; itemHash?: string }): DecodedItem;
}

export function createItemViewer(modules: ModuleRegistry = createModules()): ItemViewer {
  const part = (kind: 'item' | 'input' | 'output', value: Input): DecodedPart => {
    const module = modules.get(value.module);
    const raw = { module: value.module, body: bytesToHex(value.body) };
    if (module === undefined) return { ...raw, error: 'unknown module instance' };
    const decoded = decode(module.codecs[kind], value.body);
    const named = { ...raw, moduleName: module.name, kind: bodyNames[module.name]?.[kind] };
    return decoded.ok ? { ...named, value: toJson(decoded.value) } : { ...named, error: decoded.error.message };
  };
  const codecs = new Map([...modules].map(([id, module]) => [id, module.codecs]));

  return {
    render({ index, peer, item, itemHash }) {
      const base = { index, peer, item, ...(itemHash === undefined ? {} : { itemHash }) };
      const decoded = decodeConsensusItem(hexToBytes(item), codecs);
      if (!decoded.ok) return { ...base, kind: 'undecodable', error: `${decoded.error.kind} at byte ${decoded.error.offset}: ${decoded.error.message}` };
      const value = decoded.value;
      if (value.kind === 'module') return { ...base, kind: 'module', moduleItem: part('item', { module: value.module, body: value.body }) };
      const tx = value.tx;
      return {
        ...base,
        kind: 'transaction',
        transaction: {
          txid: bytesToHex(txid(tx)),
          inputs: tx.inputs.map((input) => part('input', input)),
          outputs: tx.outputs.map((output) => part('output', output)),
          nonce: bytesToHex(tx.nonce),
          signatures: tx.signatures.map(bytesToHex),
        },
      };
    },
  };
}

/** Bytes to hex and bigints to decimal strings, recursively. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}
