import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { auditSummaryFromJson, auditSummaryJsonSchema, auditSummaryToJson, computeAudit, type AuditSummary } from '../domain/audit.ts';
import { decodeConsensusItem, type ConsensusItem } from '../domain/consensusItem.ts';
import { DecodeFailure, Reader } from '../domain/encoding.ts';
import { codecRegistry, type ModuleRegistry } from '../domain/module.ts';
import type { Input } from '../domain/transaction.ts';
import { applyItem, initialLedgerState, LEDGER_JSON_VERSION, ledgerModulesToJson, ledgerRules, ledgerStateFromJson, ledgerStateToJson, type LedgerRules, type LedgerState, type VerifySignature, type WorkingLedgerState } from '../domain/ledger.ts';
import { hexKey, isPersistentMap, withTransientEdits, type PersistentMap } from '../domain/persistentMap.ts';
import { mutableCopy } from './mutableMap.ts';
import { createModules, modulesConfigFromJson, modulesConfigJsonSchema, modulesConfigToJson, type ModulesConfig } from '../domain/modules/consensusModules.ts';
import { isEvent, type FederationConfigured, type ItemAccepted } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { nativeSha256 } from './nativeSha256.ts';
import { canonicalHashWriter, EventFoldError, fastCanonicalJson, sharedSnapshotPart, type CanonicalHashWriter, type Projection } from './projection.ts';

/**
 * `ledger`: the domain ledger state after every accepted item, rebuilt by re-applying the
 * ItemAccepted items of the log with the domain's `processItem`. The engine seeds its write model
 * from it (`ledgerSeed`); the `audit` projection folds the same way (`evolveLedger`).
 */

/**
 * Replay does not re-verify transaction signatures: each was verified by the engine before the
 * item's ItemAccepted became durable, and the item bytes (signatures included) are covered by the
 * session header that a threshold of guardians signed, which `replay` re-verifies. Verifying again
 * would cost a Schnorr verification per input, many times the rest of an item's fold.
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
  /** Not part of the state's meaning or snapshot: the txids accepted by the folds that built it (see AcceptedKeys). */
  readonly accepted?: AcceptedKeys;
  /**
   * Not part of the state's meaning or snapshot: a replay-only fold (inPlaceLedgerState), whose
   * ledger maps change in place (mutableMap.ts). Only its newest state is valid: every older one
   * shares its maps.
   */
  readonly inPlace?: true;
}

/**
 * The txids (map keys) one fold call accepted, linked to those of the calls before: the canonical
 * text of the ledger's txids (every accepted txid, sorted) is then made from the text made for an
 * earlier state plus the keys accepted since (see txidsText), instead of a walk of the whole map
 * (its memory reads scattered) at every checkpoint. `previous` is cut once a
 * text has been made for a later state: only a text for an older state needs it, and that one is
 * then made by a walk.
 */
interface AcceptedKeys {
  readonly keys: readonly string[];
  previous: AcceptedKeys | undefined;
  /** Keys in this link and the ones before it when it was made: a chain stops at MAX_CHAINED_KEYS. */
  readonly chained: number;
}

/**
 * A guardian that never hashes its states (no checkpoints) would otherwise keep a key per accepted
 * transaction here forever; past this many a new chain starts (and the next text is made by a walk).
 */
const MAX_CHAINED_KEYS = 1 << 20;

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
 * The initial state of a fold that nobody reads past states of (replay's ledger and audit): from
 * FederationConfigured on, its ledger's maps are hash tables changed in place (MutableMap) instead
 * of persistent tries (no path copies). A page that fails has changed the maps up
 * to its failing event, so it cannot be folded again one event at a time from the state before it:
 * the failure names its event (EventFoldError), the fold is over, and the failure is remembered
 * for the same page from the same state (`audit` then fails at the same event as `ledger`).
 */
export const inPlaceLedgerState: LedgerProjectionState = { audit: EMPTY_AUDIT, inPlace: true };

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
let lastPage: { from: LedgerProjectionState; first: RecordedEvent; last: RecordedEvent; length: number; page?: LedgerPage; failure?: unknown } | undefined;

/**
 * `evolveLedger` over a page of events, in one call: the persistent maps are updated with transient
 * edits (each trie path copied once per page rather than once per item) and the balance sheet is
 * built once, at the end. `state` is left intact; a divergence throws as `evolveLedger` does.
 */
export function evolveLedgerPage(state: LedgerProjectionState, events: readonly RecordedEvent[]): LedgerPage {
  if (events.length === 0) return { to: state, sessionAudits: [] };
  const first = events[0]!;
  const last = events[events.length - 1]!;
  if (lastPage !== undefined && lastPage.from === state && lastPage.first === first && lastPage.last === last && lastPage.length === events.length) {
    if (lastPage.page === undefined) throw lastPage.failure;
    return lastPage.page;
  }
  if (state.inPlace === true) {
    try {
      const page = foldPage(state, events, true);
      lastPage = { from: state, first, last, length: events.length, page };
      return page;
    } catch (failure) {
      lastPage = { from: state, first, last, length: events.length, failure };
      throw failure;
    }
  }
  const page = withTransientEdits((edit) => foldPage(state, events, true, edit.of));
  lastPage = { from: state, first, last, length: events.length, page };
  return page;
}

/** `underEdit`: the page's transient edit (withTransientEdits), which the working ledger's maps are put under. */
function foldPage(state: LedgerProjectionState, events: readonly RecordedEvent[], withSessions: boolean, underEdit?: MapConversion): LedgerPage {
  let current = state;
  // The ledger being updated by the items since `current` (their sheet is built when needed).
  let work: WorkingLedgerState | undefined;
  // The last item applied since `current`; its position becomes `lastItem` when settled.
  let lastItem: (RecordedEvent & { type: 'ItemAccepted'; data: ItemAccepted }) | undefined;
  const sessionAudits: AuditSummary[] = [];
  // The txid keys accepted since `current`.
  let added: string[] | undefined;
  const settle = (): LedgerProjectionState => {
    if (work === undefined) return current;
    const ledger: LedgerState = { acceptedTxids: work.acceptedTxids, modules: work.modules };
    work = undefined;
    const chained = added === undefined ? 0 : added.length + (current.accepted?.chained ?? 0);
    const accepted = added === undefined ? current.accepted : chained > MAX_CHAINED_KEYS ? { keys: added, previous: undefined, chained: added.length } : { keys: added, previous: current.accepted, chained };
    added = undefined;
    current = { config: current.config, rules: current.rules, ledger, audit: computeAudit(current.rules!.modules, ledger.modules), lastItem: { session: lastItem!.data.session, index: lastItem!.data.index }, ...(accepted === undefined ? {} : { accepted }), ...(state.inPlace === true ? { inPlace: true } : {}) };
    return current;
  };
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    try {
      foldEvent(event);
    } catch (error) {
      // In place, the maps now hold the page up to here: it cannot be folded again event by event, so the failing event is named here.
      throw state.inPlace === true ? new EventFoldError(event.position, error) : error;
    }
  }
  return { to: settle(), sessionAudits };

  function foldEvent(event: RecordedEvent): void {
    if (isEvent(event, 'ItemAccepted')) {
      const { rules, ledger } = current;
      if (rules === undefined || ledger === undefined) throw new LedgerDivergenceError(`${where(event)} was accepted before the federation was configured`);
      work ??= underEdit === undefined ? { acceptedTxids: ledger.acceptedTxids, modules: new Map(ledger.modules) } : withMapsConverted(ledger, underEdit);
      const txid = applyAccepted(rules, work, event);
      if (txid !== undefined) (added ??= []).push(txid);
      lastItem = event;
    } else if (isEvent(event, 'FederationConfigured')) {
      current = configure(settle(), event);
    } else if (withSessions && event.type === 'SessionCompleted') {
      sessionAudits.push(work === undefined ? current.audit : computeAudit(current.rules!.modules, work.modules));
    }
  }
}

function configure(state: LedgerProjectionState, event: RecordedEvent & { type: 'FederationConfigured'; data: FederationConfigured }): LedgerProjectionState {
  // The federation is configured once; a repeated event (e.g. a retried write) changes nothing.
  if (state.config !== undefined) return state;
  const config: LedgerConfig = { peerCount: event.data.peers.length, modules: modulesConfigFromJson(event.data.modules) };
  const rules = rulesFor(config);
  if (state.inPlace === true) {
    const ledger = withMapsConverted(initialLedgerState(rules), mutableCopy);
    return { config, rules, ledger, audit: computeAudit(rules.modules, ledger.modules), inPlace: true };
  }
  const ledger = initialLedgerState(rules);
  return { config, rules, ledger, audit: computeAudit(rules.modules, ledger.modules) };
}

type MapConversion = <V>(map: PersistentMap<V>) => PersistentMap<V>;

/**
 * `ledger` with its accepted txids and every PersistentMap field of each module's state (module.ts:
 * a plain object whose maps are such fields) passed through `convert`: into MutableMaps, which
 * change in place, or under a page's transient edit.
 */
function withMapsConverted(ledger: LedgerState, convert: MapConversion): WorkingLedgerState {
  const modules = new Map<number, unknown>();
  for (const [id, moduleState] of ledger.modules) {
    if (typeof moduleState !== 'object' || moduleState === null) modules.set(id, moduleState);
    else modules.set(id, Object.fromEntries(Object.entries(moduleState).map(([key, value]) => [key, isPersistentMap(value) ? convert(value) : value])));
  }
  return { acceptedTxids: convert(ledger.acceptedTxids), modules };
}

// The net assets recorded with the previous item, and the figure it was checked against: most
// items leave net assets unchanged, and then the check costs no decimal conversion.
let checkedNetAssets = '0';
let checkedNetAssetsValue = 0n;

/** Applies the item to `work`; returns its txid's map key for a transaction. */
function applyAccepted(rules: LedgerRules, work: WorkingLedgerState, event: RecordedEvent & { type: 'ItemAccepted'; data: ItemAccepted }): string | undefined {
  const { peer, netAssets } = event.data;
  const bytes = acceptedItemBytes(event);
  const framed = frameAcceptedItem(bytes, rules.modules);
  if (framed === undefined) {
    const decoded = decodeConsensusItem(bytes, codecRegistry(rules.modules));
    throw new LedgerDivergenceError(`${where(event)} does not decode: ${decoded.ok ? 'unexpected framing' : decoded.error.kind}`);
  }
  const outcome = applyItem(rules, work, framed.item, peer, framed.encodedTransaction);
  if (!outcome.ok) throw new LedgerDivergenceError(`${where(event)} was accepted but the ledger rejects it: ${outcome.reason}`);
  // The engine recorded the audit's net assets with the item; a different figure means the ledger changed meaning.
  if (outcome.netAssets !== checkedNetAssetsValue || netAssets !== checkedNetAssets) {
    if (outcome.netAssets.toString() !== netAssets) {
      throw new LedgerDivergenceError(`${where(event)}: net assets ${outcome.netAssets} msat, but the log recorded ${netAssets}`);
    }
    checkedNetAssets = netAssets;
    checkedNetAssetsValue = outcome.netAssets;
  }
  // The ledger made this key last (hexKey remembers it): no second conversion.
  return outcome.txid === undefined ? undefined : hexKey(outcome.txid);
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

/** Keys in sorted order at every level: the stored text is then canonical (see auditSummaryToJson). */
function buildSnapshot(state: LedgerProjectionState) {
  return {
    audit: auditSummaryToJson(state.audit),
    config: state.config === undefined ? null : { modules: modulesConfigToJson(state.config.modules), peerCount: state.config.peerCount },
    lastItem: state.lastItem === undefined ? null : { index: state.lastItem.index, session: state.lastItem.session },
    ledger: state.rules === undefined || state.ledger === undefined ? null : ledgerStateToJson(state.rules, state.ledger),
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

/** The canonical text of a state's snapshot, as parts: hashed on its own (`ledger`) or inside another text (`audit`). */
export interface SnapshotText {
  /** sha256 hex of the text: what stateHash gives for the snapshot. */
  digest(): string;
  /** Feeds the text to `hash`. */
  writeTo(hash: Hash): void;
}

/** The last state whose canonical snapshot text was written: `ledger` and `audit` hash the same states. */
let lastText: { state: LedgerProjectionState; text: SnapshotText } | undefined;

/**
 * The canonical JSON text of `ledgerStateSnapshot(state)` (what `stateHash` hashes), written
 * without building the snapshot: its keys in sorted order, the small parts through
 * `fastCanonicalJson`, and the accepted txids (a list of every accepted transaction, most of the
 * text) from txidsText.
 */
export function ledgerSnapshotText(state: LedgerProjectionState): SnapshotText {
  if (lastText?.state === state) return lastText.text;
  const head = canonicalHashWriter(4096);
  head.raw('{"audit":');
  head.raw(fastCanonicalJson(auditSummaryToJson(state.audit)));
  head.raw(',"config":');
  head.raw(fastCanonicalJson(state.config === undefined ? null : { peerCount: state.config.peerCount, modules: modulesConfigToJson(state.config.modules) }));
  head.raw(',"lastItem":');
  head.raw(fastCanonicalJson(state.lastItem ?? null));
  head.raw(',"ledger":');
  const parts: (CanonicalHashWriter | Uint8Array)[] = [head];
  if (state.rules === undefined || state.ledger === undefined) head.raw('null}');
  else {
    head.raw('{"acceptedTxids":[');
    const txids = txidsText(state.ledger, state.accepted);
    // Without the last record's comma.
    if (txids.count > 0) parts.push(txids.text.subarray(0, TXID_RECORD * txids.count - 1));
    const tail = canonicalHashWriter(4096);
    tail.raw('],"modules":');
    tail.raw(fastCanonicalJson(ledgerModulesToJson(state.rules, state.ledger)));
    tail.raw(`,"version":${LEDGER_JSON_VERSION}}}`);
    parts.push(tail);
  }
  const writeTo = (hash: Hash) => {
    for (const part of parts) {
      if (part instanceof Uint8Array) hash.update(part);
      else part.writeTo(hash);
    }
  };
  const text: SnapshotText = {
    writeTo,
    digest() {
      const hash = createHash('sha256');
      writeTo(hash);
      return hash.digest('hex');
    },
  };
  lastText = { state, text };
  return text;
}

/** `"<64 hex digits>",`: one txid of the canonical list, with the comma after it. */
const TXID_RECORD = 67;
const NO_RECORDS = Buffer.alloc(0);

/** The sorted txid records of the last state whose txids were written, and the fold call it reflects. */
let txidsMemo: { map: PersistentMap<true>; through: AcceptedKeys; text: Buffer; count: number } | undefined;

/**
 * The ledger's accepted txids as canonical JSON list members, sorted, each a TXID_RECORD: merged
 * from the text of an earlier state of the same fold and the keys accepted since (sorted alone),
 * when `accepted` leads back to that state and the counts agree; else from a walk of the map.
 */
function txidsText(ledger: LedgerState, accepted: AcceptedKeys | undefined): { text: Buffer; count: number } {
  const map = ledger.acceptedTxids;
  const memo = txidsMemo;
  // A map changed in place is the same object at every size (accepted txids are only ever added).
  if (memo?.map === map && memo.count === map.size) return memo;
  let text: { text: Buffer; count: number } | undefined;
  if (accepted !== undefined) {
    // Without a text made before, a chain that holds every key is sorted whole (a map changed in place is not walked in order).
    const through = memo?.through;
    const since: string[] = [];
    let page: AcceptedKeys | undefined = accepted;
    while (page !== undefined && page !== through) {
      for (const key of page.keys) since.push(key);
      page = page.previous;
    }
    const count = memo?.count ?? 0;
    if (page === through && count + since.length === map.size) text = mergedTxids(memo?.text ?? NO_RECORDS, count, sortedTxidKeys(since));
  }
  text ??= walkedTxids(map);
  if (accepted !== undefined) {
    // Texts of later states start from here: the keys before it are no longer needed.
    accepted.previous = undefined;
    txidsMemo = { map, through: accepted, ...text };
  }
  return text;
}

function walkedTxids(map: PersistentMap<true>): { text: Buffer; count: number } {
  const keys = map.sortedKeys();
  const text = Buffer.allocUnsafe(TXID_RECORD * keys.length);
  let at = 0;
  for (const key of keys) {
    // The map's keys are hexKey of 32-byte txids, or snapshot txids checked as 64 lowercase hex digits.
    if (key.length !== 64) throw new Error(`accepted txid key of ${key.length} characters`);
    writeRecord(text, at, key);
    at += TXID_RECORD;
  }
  return { text, count: keys.length };
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
/** Up to this many keys are sorted by their 8-digit prefix and index packed in one float64 (20 bits of index). */
const PREFIX_SORTED_UP_TO = 1 << 20;

/**
 * `keys` (64 lowercase hex digits each) in code-unit order: sorted as numbers by their first 8
 * digits in a Float64Array (a native numeric sort, cheaper than comparing strings), then each run of keys sharing those digits (rare) by comparing the strings.
 */
function sortedTxidKeys(keys: string[]): string[] {
  const n = keys.length;
  if (n > PREFIX_SORTED_UP_TO) return keys.sort();
  const order = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    let prefix = 0;
    for (let j = 0; j < 8; j++) {
      const digit = HEX_VALUE[key.charCodeAt(j) & 127]!;
      if (digit < 0) return keys.sort();
      prefix = prefix * 16 + digit;
    }
    order[i] = prefix * PREFIX_SORTED_UP_TO + i;
  }
  order.sort();
  const sorted = new Array<string>(n);
  for (let i = 0; i < n; i++) sorted[i] = keys[order[i]! % PREFIX_SORTED_UP_TO]!;
  for (let start = 0; start < n; ) {
    const prefix = Math.floor(order[start]! / PREFIX_SORTED_UP_TO);
    let end = start + 1;
    while (end < n && Math.floor(order[end]! / PREFIX_SORTED_UP_TO) === prefix) end++;
    if (end - start > 1) {
      const run = sorted.slice(start, end).sort();
      for (let i = start; i < end; i++) sorted[i] = run[i - start]!;
    }
    start = end;
  }
  return sorted;
}

/** The records of `old` (sorted) and of `added` (sorted, none among them), merged. */
function mergedTxids(old: Buffer, oldCount: number, added: readonly string[]): { text: Buffer; count: number } {
  const count = oldCount + added.length;
  const text = Buffer.allocUnsafe(TXID_RECORD * count);
  let at = 0;
  let next = 0;
  for (const key of added) {
    if (key.length !== 64) throw new Error(`accepted txid key of ${key.length} characters`);
    const from = next;
    while (next < oldCount && recordBefore(old, next, key)) next++;
    if (next > from) at += old.copy(text, at, TXID_RECORD * from, TXID_RECORD * next);
    writeRecord(text, at, key);
    at += TXID_RECORD;
  }
  if (next < oldCount) old.copy(text, at, TXID_RECORD * next, TXID_RECORD * oldCount);
  return { text, count };
}

/** Whether old record `index` sorts before `key` (code-unit order, as sortedKeys; hex digits are ASCII). */
function recordBefore(old: Buffer, index: number, key: string): boolean {
  const at = TXID_RECORD * index + 1;
  for (let i = 0; i < 64; i++) {
    const d = old[at + i]! - key.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return false;
}

function writeRecord(text: Buffer, at: number, key: string): void {
  text[at] = 0x22;
  text.write(key, at + 1, 64, 'latin1');
  text[at + 65] = 0x22;
  text[at + 66] = 0x2c;
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
  newestOnly: () => ({ ...ledgerProjection, initial: inPlaceLedgerState }),
};

/**
 * What the engine needs to resume validating: the ledger state and the configuration it was built
 * under. The engine builds its own rules (with real signature verification) for new items.
 */
export function ledgerSeed(state: LedgerProjectionState): { ledger: LedgerState; config: LedgerConfig; audit: AuditSummary; lastItem?: { session: number; index: number } } | undefined {
  if (state.config === undefined || state.ledger === undefined) return undefined;
  return { ledger: state.ledger, config: state.config, audit: state.audit, ...(state.lastItem === undefined ? {} : { lastItem: state.lastItem }) };
}
