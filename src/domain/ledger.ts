/**
 * The ledger: the one pure function the engine calls for every ordered item,
 * (state, item, peer) -> accepted with a new state and the audit | rejected with a reason.
 * A dry run (POST /v1/transactions) is the same call against the current state, discarding it.
 *
 * State is immutable by convention and cheap to update: accepted txids and every module's large
 * maps are persistent maps (persistentMap.ts) that share structure between versions, and the map
 * of module states is a tiny Map copied per accepted item. Nothing is deep-copied, so keeping the
 * previous state (for a dry run or a rejected item) is free.
 */
import { z } from 'zod';
import { U64_MAX } from './encoding.ts';
import { bytesToHex, sha256 } from './hashing.ts';
import { threshold, type PeerId } from './federation.ts';
import { assertSolvent, computeAudit, sortedModuleIds, type AuditSummary } from './audit.ts';
import { canonicalJson } from './canonicalJson.ts';
import type { ConsensusItem } from './consensusItem.ts';
import type { JsonValue, ModuleContext, ModuleRegistry } from './module.ts';
import { hexKey } from './mapKeys.ts';
import { emptyPersistentMap, persistentMapOf, type PersistentMap } from './persistentMap.ts';
import { nobleBackend } from './signatures/noble.ts';
import { decodeModuleBody, encodeTransaction, MAX_TRANSACTION_BYTES, txidOfEncoded, type Transaction } from './transaction.ts';

export interface LedgerState {
  /** Hex txids of every accepted transaction, so none is accepted twice. */
  readonly acceptedTxids: PersistentMap<true>;
  /** Module instance id -> that module's state. */
  readonly modules: ReadonlyMap<number, unknown>;
}

/** BIP-340 verification of `signature` over a 32-byte `message`; must never throw. */
export type VerifySignature = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export interface LedgerRules {
  readonly modules: ModuleRegistry;
  readonly context: ModuleContext;
  /** The hot path: the engine may plug in a faster backend, or a cache of batch-verified results. */
  readonly verify: VerifySignature;
  /** sha256 for txids: replay plugs in the platform's native one (the domain stays free of I/O and platform modules). */
  readonly sha256?: (data: Uint8Array) => Uint8Array;
}

export type ItemOutcome =
  | { ok: true; state: LedgerState; audit: AuditSummary; txid?: Uint8Array }
  | { ok: false; reason: string; txid?: Uint8Array };

export interface LedgerOptions {
  /** Federation size n; deposits need threshold(n) votes. */
  peerCount: number;
  /** The modules this federation runs (modules/consensusModules.ts's createModules). */
  modules: ModuleRegistry;
  verify?: VerifySignature;
  /** Another implementation of sha256 (it must be sha256). */
  sha256?: (data: Uint8Array) => Uint8Array;
}

export function ledgerRules({ peerCount, modules, verify = nobleBackend.verify, sha256: hash = sha256 }: LedgerOptions): LedgerRules {
  return { modules, context: { peerCount, threshold: threshold(peerCount) }, verify, sha256: hash };
}

export function initialLedgerState(rules: LedgerRules): LedgerState {
  return { acceptedTxids: emptyPersistentMap('digest'), modules: new Map([...rules.modules].map(([id, module]) => [id, module.initialState])) };
}

/**
 * Processes one ordered item. A rejection leaves `state` untouched (the caller keeps it). Throws
 * AuditFailure, before anything can be recorded, if accepting the item would make net assets negative.
 *
 * `encodedTransaction`, for a transaction item, may be the canonical encoding the caller decoded
 * `item.tx` from (replay reads items as bytes): the ledger then hashes it instead of re-encoding.
 * It must be exactly that encoding; `encodedTransactionOf` extracts it from the item's bytes.
 */
export function processItem(rules: LedgerRules, state: LedgerState, item: ConsensusItem, peer: PeerId, encodedTransaction?: Uint8Array): ItemOutcome {
  // The working copy becomes the new state: on a rejection it is dropped (its persistent maps were
  // only updated path-copying, outside transient edits, so `state` is untouched).
  const work: WorkingLedgerState = { acceptedTxids: state.acceptedTxids, modules: new Map(state.modules) };
  const outcome = apply(rules, work, item, peer, encodedTransaction);
  if (!outcome.ok) return outcome;
  const audit = computeAudit(rules.modules, work.modules);
  if (audit.netAssets < 0n) assertSolvent(audit, solvencyContext(item, peer, outcome.txid));
  return outcome.txid === undefined ? { ok: true, state: work, audit } : { ok: true, state: work, audit, txid: outcome.txid };
}

/** A ledger state that one caller updates in place (`applyItem`). */
export interface WorkingLedgerState {
  acceptedTxids: PersistentMap<true>;
  modules: Map<number, unknown>;
  /** Kept by applyItem: each module's net figure and the state it was computed from (most items change one module). */
  moduleNet?: Map<number, { state: unknown; msat: bigint }>;
}

export type AppliedItem = { ok: true; netAssets: bigint; txid?: Uint8Array } | { ok: false; reason: string; txid?: Uint8Array };

/**
 * `processItem` for folds (replay): applies the item to `work` in place and returns the net assets
 * after it instead of the whole balance sheet (`ledgerAudit` gives that once the fold is done).
 * Throws AuditFailure as processItem does. On a rejection `work` may be partly updated: the caller
 * must discard it. Under `withTransientEdits` the persistent maps are then updated in place too,
 * which is the point: a fold copies each trie path once per batch instead of once per item.
 */
export function applyItem(rules: LedgerRules, work: WorkingLedgerState, item: ConsensusItem, peer: PeerId, encodedTransaction?: Uint8Array): AppliedItem {
  const outcome = apply(rules, work, item, peer, encodedTransaction);
  if (!outcome.ok) return outcome;
  const netAssets = netAssetsOf(rules.modules, work.modules, (work.moduleNet ??= new Map()));
  if (netAssets < 0n) assertSolvent(computeAudit(rules.modules, work.modules), solvencyContext(item, peer, outcome.txid));
  return outcome.txid === undefined ? { ok: true, netAssets } : { ok: true, netAssets, txid: outcome.txid };
}

function solvencyContext(item: ConsensusItem, peer: PeerId, txid: Uint8Array | undefined): string {
  return item.kind === 'transaction' ? `transaction ${bytesToHex(txid!)}` : `a module ${item.module} item from peer ${peer}`;
}

type Applied = { ok: true; txid?: Uint8Array } | { ok: false; reason: string; txid?: Uint8Array };

const APPLIED: Applied = { ok: true };

function apply(rules: LedgerRules, work: WorkingLedgerState, item: ConsensusItem, peer: PeerId, encodedTransaction: Uint8Array | undefined): Applied {
  return item.kind === 'transaction' ? processTransaction(rules, work, item.tx, encodedTransaction) : processModuleItem(rules, work, item.module, item.body, peer);
}

function processModuleItem(rules: LedgerRules, work: WorkingLedgerState, id: number, body: Uint8Array, peer: PeerId): Applied {
  const module = rules.modules.get(id);
  if (module === undefined) return { ok: false, reason: `unknown module ${id}` };
  const decoded = decodeModuleBody(module.codecs.item, body);
  if (!decoded.ok) return { ok: false, reason: `malformed ${module.name} item: ${decoded.error.kind}` };
  const result = module.processConsensusItem(work.modules.get(id), decoded.value, peer, rules.context);
  if (!result.ok) return { ok: false, reason: `${module.name}: ${result.reason}` };
  work.modules.set(id, result.state);
  return APPLIED;
}

/** The transaction rules of DESIGN.md, in its order. */
function processTransaction(rules: LedgerRules, work: WorkingLedgerState, tx: Transaction, known: Uint8Array | undefined): Applied {
  if (tx.inputs.length === 0 || tx.outputs.length === 0) return { ok: false, reason: 'a transaction needs at least one input and one output' };
  const encoded = known ?? encodeTransaction(tx);
  const txid = txidOfEncoded(encoded, tx.signatures.length, rules.sha256);
  // Made before the outputs are processed: hexKey remembers it, and each output's note key starts with it.
  const txidKey = hexKey(txid);
  const modules = work.modules;

  const inputs = processInputs(rules, modules, tx);
  if (!inputs.ok) return rejected(inputs.reason, txid);
  const { inputSum, signers } = inputs;

  if (tx.signatures.length !== tx.inputs.length) return rejected(`expected ${tx.inputs.length} signatures (one per input), got ${tx.signatures.length}`, txid);
  for (let index = 0; index < tx.signatures.length; index++) {
    if (!rules.verify(tx.signatures[index]!, txid, signers[index]!)) return rejected(`input ${index}: invalid signature`, txid);
  }

  let outputSum = 0n;
  let feeSum = 0n;
  for (let index = 0; index < tx.outputs.length; index++) {
    const output = tx.outputs[index]!;
    const module = rules.modules.get(output.module);
    if (module === undefined) return rejected(`output ${index}: unknown module ${output.module}`, txid);
    const decoded = decodeModuleBody(module.codecs.output, output.body);
    if (!decoded.ok) return rejected(`output ${index}: malformed ${module.name} output (${decoded.error.kind})`, txid);
    const result = module.processOutput(modules.get(output.module), decoded.value, { txid, index }, rules.context);
    if (!result.ok) return rejected(`output ${index}: ${result.reason}`, txid);
    modules.set(output.module, result.state);
    outputSum += result.amount;
    if (result.fee !== 0n) feeSum += result.fee;
  }

  // Amounts are u64 on the wire; a sum beyond u64 would mean something different to a u64 implementation.
  if (inputSum > U64_MAX || outputSum + feeSum > U64_MAX) return rejected('amount overflow', txid);
  if (inputSum < outputSum + feeSum) return rejected(`underfunded: inputs ${inputSum} msat < outputs ${outputSum} + fees ${feeSum} msat`, txid);

  // One walk of the (large) txid map instead of has-then-set: setting an accepted txid again changes
  // nothing, so an unchanged size means it was there. On a rejection `work` is dropped anyway.
  const before = work.acceptedTxids.size;
  const acceptedTxids = work.acceptedTxids.set(txidKey, true);
  if (acceptedTxids.size === before) return rejected('transaction already accepted', txid);
  if (encoded.length > MAX_TRANSACTION_BYTES) return rejected(`transaction is ${encoded.length} bytes, more than ${MAX_TRANSACTION_BYTES}`, txid);

  work.acceptedTxids = acceptedTxids;
  return { ok: true, txid };
}

function rejected(reason: string, txid: Uint8Array): Applied {
  return { ok: false, reason, txid };
}

/**
 * Net assets as computeAudit sums them, without building the balance sheet: a fold needs only the
 * figure after each item. `known` holds each module's figure with the state object it came from
 * (a module returns a new state object for every change).
 */
function netAssetsOf(modules: ModuleRegistry, states: ReadonlyMap<number, unknown>, known: Map<number, { state: unknown; msat: bigint }>): bigint {
  let net = 0n;
  for (const id of sortedModuleIds(modules)) {
    const state = states.get(id);
    const figure = known.get(id);
    if (figure !== undefined && figure.state === state) {
      net += figure.msat;
      continue;
    }
    let msat = 0n;
    for (const line of modules.get(id)!.audit(state)) msat += line.msat;
    known.set(id, { state, msat });
    net += msat;
  }
  return net;
}

/** Processes the inputs in order into `modules` (a private copy); returns their sum and signers. */
function processInputs(rules: LedgerRules, modules: Map<number, unknown>, tx: Transaction): { ok: true; inputSum: bigint; signers: Uint8Array[] } | { ok: false; reason: string } {
  let inputSum = 0n;
  const signers: Uint8Array[] = [];
  for (let index = 0; index < tx.inputs.length; index++) {
    const input = tx.inputs[index]!;
    const module = rules.modules.get(input.module);
    if (module === undefined) return { ok: false, reason: `input ${index}: unknown module ${input.module}` };
    const decoded = decodeModuleBody(module.codecs.input, input.body);
    if (!decoded.ok) return { ok: false, reason: `input ${index}: malformed ${module.name} input (${decoded.error.kind})` };
    // Inputs are processed against the state left by the previous ones: spending one note twice in a transaction fails.
    const result = module.processInput(modules.get(input.module), decoded.value, rules.context);
    if (!result.ok) return { ok: false, reason: `input ${index}: ${result.reason}` };
    modules.set(input.module, result.state);
    inputSum += result.amount;
    signers.push(result.publicKey);
  }
  return { ok: true, inputSum, signers };
}

export function ledgerAudit(rules: LedgerRules, state: LedgerState): AuditSummary {
  return computeAudit(rules.modules, state.modules);
}

export function isTxidAccepted(state: LedgerState, txid: Uint8Array): boolean {
  return state.acceptedTxids.has(hexKey(txid));
}

// Snapshots: deterministic JSON and its hash.

export const LEDGER_JSON_VERSION = 1;

export const ledgerStateJsonSchema = z.object({
  version: z.literal(LEDGER_JSON_VERSION),
  acceptedTxids: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  modules: z.record(z.string().regex(/^(0|[1-9][0-9]*)$/), z.unknown()),
});
export type LedgerStateJson = z.infer<typeof ledgerStateJsonSchema>;

/** The same state always gives the same JSON (keys and txids sorted). */
export function ledgerStateToJson(rules: LedgerRules, state: LedgerState): JsonValue {
  // Keys in sorted order (see auditSummaryToJson).
  return { acceptedTxids: state.acceptedTxids.sortedKeys(), modules: ledgerModulesToJson(rules, state), version: LEDGER_JSON_VERSION };
}

/**
 * The parts of `ledgerStateToJson` other than the txid list, for writers of its canonical text
 * that stream the (large) list themselves: `{ acceptedTxids, modules, version }` in key order.
 */
export function ledgerModulesToJson(rules: LedgerRules, state: LedgerState): Record<string, JsonValue> {
  const modules: Record<string, JsonValue> = {};
  for (const id of sortedModuleIds(rules.modules)) modules[String(id)] = rules.modules.get(id)!.toJson(state.modules.get(id));
  return modules;
}

export function ledgerStateFromJson(rules: LedgerRules, json: unknown): { ok: true; state: LedgerState } | { ok: false; reason: string } {
  const parsed = ledgerStateJsonSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `invalid ledger snapshot: ${parsed.error.message}` };
  const modules = new Map<number, unknown>();
  for (const [id, module] of rules.modules) {
    const moduleJson = parsed.data.modules[String(id)];
    if (moduleJson === undefined) return { ok: false, reason: `ledger snapshot lacks module ${id} (${module.name})` };
    try {
      modules.set(id, module.fromJson(moduleJson));
    } catch (error) {
      return { ok: false, reason: `invalid ${module.name} state in ledger snapshot: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return { ok: true, state: { acceptedTxids: persistentMapOf(parsed.data.acceptedTxids.map((txid) => [txid, true] as const), 'digest'), modules } };
}

/** Hex sha256 of the canonical JSON: equal states, equal hashes, however they were reached. */
export function ledgerStateHash(rules: LedgerRules, state: LedgerState): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(ledgerStateToJson(rules, state)))));
}

export interface Ledger {
  readonly rules: LedgerRules;
  readonly initialState: LedgerState;
  /** The per-item function with the rules bound: (state, item, peer) -> outcome. */
  processItem(state: LedgerState, item: ConsensusItem, peer: PeerId): ItemOutcome;
  audit(state: LedgerState): AuditSummary;
  toJson(state: LedgerState): JsonValue;
  fromJson(json: unknown): { ok: true; state: LedgerState } | { ok: false; reason: string };
  stateHash(state: LedgerState): string;
}

/** The ledger functions with one federation's rules bound, for the engine and projections. */
export function createLedger(options: LedgerOptions): Ledger {
  const rules = ledgerRules(options);
  return {
    rules,
    initialState: initialLedgerState(rules),
    processItem: (state, item, peer) => processItem(rules, state, item, peer),
    audit: (state) => ledgerAudit(rules, state),
    toJson: (state) => ledgerStateToJson(rules, state),
    fromJson: (json) => ledgerStateFromJson(rules, json),
    stateHash: (state) => ledgerStateHash(rules, state),
  };
}
