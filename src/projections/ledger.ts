import { z } from 'zod';
import { auditSummaryFromJson, auditSummaryJsonSchema, auditSummaryToJson, computeAudit, type AuditSummary } from '../domain/audit.ts';
import { decodeConsensusItem, type ConsensusItem } from '../domain/consensusItem.ts';
import { DecodeFailure, Reader } from '../domain/encoding.ts';
import type { ModuleRegistry } from '../domain/module.ts';
import type { Input } from '../domain/transaction.ts';
import { applyItem, initialLedgerState, LEDGER_JSON_VERSION, ledgerModulesToJson, ledgerRules, ledgerStateFromJson, ledgerStateToJson, type LedgerRules, type LedgerState, type VerifySignature, type WorkingLedgerState } from '../domain/ledger.ts';
import { withTransientEdits } from '../domain/persistentMap.ts';
import { createModules, modulesConfigFromJson, modulesConfigJsonSchema, modulesConfigToJson, type ModulesConfig } from '../domain/modules/consensusModules.ts';
import { isEvent, type FederationConfigured, type ItemAccepted } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { nativeSha256 } from './nativeSha256.ts';
import { canonicalHashWriter, fastCanonicalJson, sharedSnapshotPart, type CanonicalHashWriter, type Projection } from './projection.ts';

/**
 * `ledger`: the domain ledger state after every accepted item, rebuilt by re-applying the
 * ItemAccepted items of the log with the domain's `processItem`. The engine seeds its write model
 * from it (`ledgerSeed`); the `audit` projection folds the same way (`evolveLedger`).
 */

/**
 * Replay does not re-verify transaction signatures: each was verified by the engine before the
 * item's ItemAccepted became durable, and the item bytes (signatures included) are covered by the
 * session header that a threshold of guardians signed, which `replay` re-verifies. Verifying again
 * would cost a Schnorr verification per input (tens of µs) and cap replay far below 150k events/s.
 * These rules must never be used to accept new items.
 */
const alreadyVerified: VerifySignature = () => true;

export interface LedgerConfig {
  peerCount: number;
  modules: ModulesConfig;
}

export interface LedgerProjectionState {
  /** Undefined until the FederationConfigured event: the modules' configuration comes from the log. */
  readonly config?: LedgerConfig;
  readonly rules?: LedgerRules;
  readonly ledger?: LedgerState;
  /** The balance sheet after the last accepted item. */
  readonly audit: AuditSummary;
  readonly lastItem?: { session: number; index: number };
}

/** The log says an item was accepted, but the ledger rebuilt from the log disagrees: the log or the code is wrong. */
export class LedgerDivergenceError extends Error {
  constructor(message: string) {
    super(`Consensus Failure: ${message}`);
    this.name = 'LedgerDivergenceError';
  }
}

const EMPTY_AUDIT: AuditSummary = { modules: [], netAssets: 0n };

export const initialLedgerProjectionState: LedgerProjectionState = { audit: EMPTY_AUDIT };

/**
 * Both `ledger` and `audit` fold the ledger over the same event objects delivered by one host, the
 * second right after the first. The fold is pure, so when the second one asks for the same
 * (state, event) step it gets the first one's result instead of processing the item twice. One
 * step is remembered (no WeakMap per event: its ephemerons are costly to collect).
 */
let lastStep: { event: RecordedEvent; from: LedgerProjectionState; to: LedgerProjectionState } | undefined;

export function evolveLedger(state: LedgerProjectionState, event: RecordedEvent): LedgerProjectionState {
  if (event.type !== 'ItemAccepted' && event.type !== 'FederationConfigured') return state;
  if (lastStep !== undefined && lastStep.event === event && lastStep.from === state) return lastStep.to;
  const to = foldPage(state, [event], false).to;
  lastStep = { event, from: state, to };
  return to;
}

/** The fold of one page: the state after it, and the balance sheet at each SessionCompleted in it (for `audit`). */
export interface LedgerPage {
  readonly to: LedgerProjectionState;
  /** One per SessionCompleted event of the page, in order: the sheet after the last item before it. */
  readonly sessionAudits: readonly AuditSummary[];
}

/**
 * The same sharing for pages: `ledger` and `audit` fold the same page from the same state, so the
 * second gets the first's result. A page is recognised by its bounds (same first and last event
 * objects, same length), so two arrays cut at the same positions match.
 */
let lastPage: { from: LedgerProjectionState; first: RecordedEvent; last: RecordedEvent; length: number; page: LedgerPage } | undefined;

/**
 * `evolveLedger` over a page of events, in one call: the persistent maps are updated with transient
 * edits (each trie path copied once per page rather than once per item) and the balance sheet is
 * built once, at the end. `state` is left intact; a divergence throws as `evolveLedger` does.
 */
export function evolveLedgerPage(state: LedgerProjectionState, events: readonly RecordedEvent[]): LedgerPage {
  if (events.length === 0) return { to: state, sessionAudits: [] };
  const first = events[0]!;
  const last = events[events.length - 1]!;
  if (lastPage !== undefined && lastPage.from === state && lastPage.first === first && lastPage.last === last && lastPage.length === events.length) return lastPage.page;
  const page = withTransientEdits(() => foldPage(state, events, true));
  lastPage = { from: state, first, last, length: events.length, page };
  return page;
}

function foldPage(state: LedgerProjectionState, events: readonly RecordedEvent[], withSessions: boolean): LedgerPage {
  let current = state;
  // The ledger being updated by the items since `current` (their sheet is built when needed).
  let work: WorkingLedgerState | undefined;
  // The last item applied since `current`; its position becomes `lastItem` when settled.
  let lastItem: (RecordedEvent & { type: 'ItemAccepted'; data: ItemAccepted }) | undefined;
  const sessionAudits: AuditSummary[] = [];
  const settle = (): LedgerProjectionState => {
    if (work === undefined) return current;
    const ledger: LedgerState = { acceptedTxids: work.acceptedTxids, modules: work.modules };
    work = undefined;
    current = { config: current.config, rules: current.rules, ledger, audit: computeAudit(current.rules!.modules, ledger.modules), lastItem: { session: lastItem!.data.session, index: lastItem!.data.index } };
    return current;
  };
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (isEvent(event, 'ItemAccepted')) {
      const { rules, ledger } = current;
      if (rules === undefined || ledger === undefined) throw new LedgerDivergenceError(`${where(event)} was accepted before the federation was configured`);
      work ??= { acceptedTxids: ledger.acceptedTxids, modules: new Map(ledger.modules) };
      applyAccepted(rules, work, event);
      lastItem = event;
    } else if (isEvent(event, 'FederationConfigured')) {
      current = configure(settle(), event);
    } else if (withSessions && event.type === 'SessionCompleted') {
      sessionAudits.push(work === undefined ? current.audit : computeAudit(current.rules!.modules, work.modules));
    }
  }
  return { to: settle(), sessionAudits };
}

function configure(state: LedgerProjectionState, event: RecordedEvent & { type: 'FederationConfigured'; data: FederationConfigured }): LedgerProjectionState {
  // The federation is configured once; a repeated event (e.g. a retried write) changes nothing.
  if (state.config !== undefined) return state;
  const config: LedgerConfig = { peerCount: event.data.peers.length, modules: modulesConfigFromJson(event.data.modules) };
  const rules = rulesFor(config);
  const ledger = initialLedgerState(rules);
  return { config, rules, ledger, audit: computeAudit(rules.modules, ledger.modules) };
}

// The net assets recorded with the previous item, and the figure it was checked against: most
// items leave net assets unchanged, and then the check costs no decimal conversion.
let checkedNetAssets = '0';
let checkedNetAssetsValue = 0n;

function applyAccepted(rules: LedgerRules, work: WorkingLedgerState, event: RecordedEvent & { type: 'ItemAccepted'; data: ItemAccepted }): void {
  const { peer, netAssets } = event.data;
  const bytes = acceptedItemBytes(event);
  const framed = frameAcceptedItem(bytes, rules.modules);
  if (framed === undefined) {
    const decoded = decodeConsensusItem(bytes);
    throw new LedgerDivergenceError(`${where(event)} does not decode: ${decoded.ok ? 'unexpected framing' : decoded.error.kind}`);
  }
  const outcome = applyItem(rules, work, framed.item, peer, framed.encodedTransaction);
  if (!outcome.ok) throw new LedgerDivergenceError(`${where(event)} was accepted but the ledger rejects it: ${outcome.reason}`);
  // The engine recorded the audit's net assets with the item; a different figure means the ledger changed meaning.
  if (outcome.netAssets === checkedNetAssetsValue && netAssets === checkedNetAssets) return;
  if (outcome.netAssets.toString() !== netAssets) {
    throw new LedgerDivergenceError(`${where(event)}: net assets ${outcome.netAssets} msat, but the log recorded ${netAssets}`);
  }
  checkedNetAssets = netAssets;
  checkedNetAssetsValue = outcome.netAssets;
}

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

/** Where an item is, for an error message (built only then: the fold runs for every accepted item). */
function where(event: RecordedEvent & { data: { session: number; index: number } }): string {
  return `session ${event.data.session} item ${event.data.index} (position ${event.position})`;
}

function rulesFor(config: LedgerConfig): LedgerRules {
  return ledgerRules({ peerCount: config.peerCount, modules: createModules(config.modules), verify: alreadyVerified, sha256: nativeSha256 });
}


const count = z.number().int().min(0);
const ledgerSnapshotSchema = z.object({
  config: z.object({ peerCount: z.number().int().min(1), modules: modulesConfigJsonSchema }).nullable(),
  ledger: z.unknown(),
  audit: auditSummaryJsonSchema,
  lastItem: z.object({ session: count, index: count }).nullable(),
});

/** The `ledger` and `audit` projections hold the same state objects, so each is serialised once (snapshots run to megabytes). */
const snapshots = new WeakMap<LedgerProjectionState, ReturnType<typeof buildSnapshot>>();

export function ledgerStateSnapshot(state: LedgerProjectionState): ReturnType<typeof buildSnapshot> {
  let json = snapshots.get(state);
  if (json === undefined) {
    json = sharedSnapshotPart(buildSnapshot(state));
    snapshots.set(state, json);
  }
  return json;
}

function buildSnapshot(state: LedgerProjectionState) {
  return {
    config: state.config === undefined ? null : { peerCount: state.config.peerCount, modules: modulesConfigToJson(state.config.modules) },
    ledger: state.rules === undefined || state.ledger === undefined ? null : ledgerStateToJson(state.rules, state.ledger),
    audit: auditSummaryToJson(state.audit),
    lastItem: state.lastItem ?? null,
  };
}

export function ledgerStateFromSnapshot(json: unknown): LedgerProjectionState {
  const parsed = ledgerSnapshotSchema.parse(json);
  const audit = auditSummaryFromJson(parsed.audit);
  const lastItem = parsed.lastItem ?? undefined;
  if (parsed.config === null) return { audit, ...(lastItem === undefined ? {} : { lastItem }) };
  const config: LedgerConfig = { peerCount: parsed.config.peerCount, modules: modulesConfigFromJson(parsed.config.modules) };
  const rules = rulesFor(config);
  const ledger = ledgerStateFromJson(rules, parsed.ledger);
  if (!ledger.ok) throw new Error(ledger.reason);
  return { config, rules, ledger: ledger.state, audit, ...(lastItem === undefined ? {} : { lastItem }) };
}

/** The last state whose canonical snapshot text was written: `ledger` and `audit` hash the same states. */
let lastText: { state: LedgerProjectionState; text: CanonicalHashWriter } | undefined;

/**
 * The canonical JSON text of `ledgerStateSnapshot(state)` (what `stateHash` hashes), written
 * without building the snapshot: its keys in sorted order, the small parts through
 * `fastCanonicalJson`, and the accepted txids (a list of every accepted transaction, most of the
 * text) straight from the ledger's map, which holds them as checked lowercase hex.
 */
export function ledgerSnapshotText(state: LedgerProjectionState): CanonicalHashWriter {
  if (lastText?.state === state) return lastText.text;
  const txids = state.ledger === undefined ? [] : state.ledger.acceptedTxids.sortedKeys();
  const out = canonicalHashWriter(66 * txids.length + 4096);
  out.raw('{"audit":');
  out.raw(fastCanonicalJson(auditSummaryToJson(state.audit)));
  out.raw(',"config":');
  out.raw(fastCanonicalJson(state.config === undefined ? null : { peerCount: state.config.peerCount, modules: modulesConfigToJson(state.config.modules) }));
  out.raw(',"lastItem":');
  out.raw(fastCanonicalJson(state.lastItem ?? null));
  out.raw(',"ledger":');
  if (state.rules === undefined || state.ledger === undefined) out.raw('null');
  else {
    out.raw('{"acceptedTxids":[');
    for (let i = 0; i < txids.length; i++) {
      if (i > 0) out.raw(',');
      out.hex(txids[i]!);
    }
    out.raw('],"modules":');
    out.raw(fastCanonicalJson(ledgerModulesToJson(state.rules, state.ledger)));
    out.raw(`,"version":${LEDGER_JSON_VERSION}}`);
  }
  out.raw('}');
  lastText = { state, text: out };
  return out;
}

export const ledgerProjection: Projection<LedgerProjectionState> = {
  name: 'ledger',
  version: 1,
  initial: initialLedgerProjectionState,
  evolve: evolveLedger,
  evolveBatch: (state, events) => evolveLedgerPage(state, events).to,
  toSnapshot: ledgerStateSnapshot,
  fromSnapshot: ledgerStateFromSnapshot,
  stateHash: (state) => ledgerSnapshotText(state).digest(),
};

/**
 * What the engine needs to resume validating: the ledger state and the configuration it was built
 * under. The engine builds its own rules (with real signature verification) for new items.
 */
export function ledgerSeed(state: LedgerProjectionState): { ledger: LedgerState; config: LedgerConfig; audit: AuditSummary; lastItem?: { session: number; index: number } } | undefined {
  if (state.config === undefined || state.ledger === undefined) return undefined;
  return { ledger: state.ledger, config: state.config, audit: state.audit, ...(state.lastItem === undefined ? {} : { lastItem: state.lastItem }) };
}
