/**
 * Consensus items decoded for people (the analyst API, the CLI): module bodies are shown decoded
 * next to their hex, so nothing is lost and the hex can still be re-verified.
 */
import { decode } from './encoding.ts';
import { bytesToHex } from './hashing.ts';
import type { ConsensusItem } from './consensusItem.ts';
import type { JsonValue, ModuleRegistry } from './module.ts';
import { txid, type Input } from './transaction.ts';

function describePart(modules: ModuleRegistry, part: Input, which: 'item' | 'input' | 'output'): { [key: string]: JsonValue } {
  const base = { module: part.module, body: bytesToHex(part.body) };
  const module = modules.get(part.module);
  if (module === undefined) return { ...base, moduleName: null, decoded: null };
  const decoded = decode(module.codecs[which], part.body);
  return { ...base, moduleName: module.name, decoded: decoded.ok ? module.describe[which](decoded.value) : null };
}

export function describeConsensusItem(modules: ModuleRegistry, item: ConsensusItem): { [key: string]: JsonValue } {
  if (item.kind === 'module') return { kind: 'module', ...describePart(modules, item, 'item') };
  const { tx } = item;
  return {
    kind: 'transaction',
    txid: bytesToHex(txid(tx)),
    inputs: tx.inputs.map((input) => describePart(modules, input, 'input')),
    outputs: tx.outputs.map((output) => describePart(modules, output, 'output')),
    nonce: bytesToHex(tx.nonce),
    signatures: tx.signatures.map(bytesToHex),
  };
}
