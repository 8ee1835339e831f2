import { computeAudit, type AuditSummary } from '../domain/audit.ts';
import { decodeConsensusItem } from '../domain/consensusItem.ts';
import { codecRegistry } from '../domain/module.ts';
import { applyItem, initialLedgerState, ledgerRules, type LedgerRules, type LedgerState, type VerifySignature, type WorkingLedgerState } from '../domain/ledger.ts';
import { hexKey } from '../domain/mapKeys.ts';
import { isPersistentMap, withTransientEdits, type PersistentMap } from '../domain/persistentMap.ts';
import { createModules, modulesConfigFromJson, type ModulesConfig } from '../domain/modules/consensusModules.ts';
import { isEvent, type FederationConfigured, type ItemAccepted } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { frameAcceptedItem } from './ledgerItemFraming.ts';
import { chainAcceptedKeys, type AcceptedKeys } from './ledgerTxidsText.ts';
import { mutableCopy } from './mutableMap.ts';
import { nativeSha256 } from './nativeSha256.ts';
import { EventFoldError } from './projection.ts';

/**
 * The `ledger` projection's state and its fold: the domain ledger state after every accepted item,
 * rebuilt by re-applying the ItemAccepted items of the log with the domain's `applyItem`, one
 * event (`evolveLedger`) or one page (`evolveLedgerPage`) at a time. The `audit` projection folds
 * the same way.
 */

/**
 * Replay does not re-verify transaction signatures: each was verified by the engine before the
 * item's ItemAccepted became durable, and the item bytes (signatures included) are covered by the
 * session header that a threshold of guardians signed, which `replay` re-verifies. Verifying again
 * would cost a Schnorr verification per input, many times the rest of an item's fold.
 * These rules must never be used to accept new items.
 */
const alreadyVerified: VerifySignature = () => true;

/** The rules the ledger is folded under, for the log's federation: never to accept new items (see alreadyVerified). */
export function replayRules(config: LedgerConfig): LedgerRules {
  return ledgerRules({ peerCount: config.peerCount, modules: createModules(config.modules), verify: alreadyVerified, sha256: nativeSha256 });
}

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
  /** Not part of the state's meaning or snapshot: the txids accepted by the folds that built it (see AcceptedKeys, ledgerTxidsText.ts). */
  readonly accepted?: AcceptedKeys;
  /**
   * Not part of the state's meaning or snapshot: a replay-only fold (inPlaceLedgerState), whose
   * ledger maps change in place (mutableMap.ts). Only its newest state is valid: every older one
   * shares its maps.
   */
  readonly inPlace?: true;
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
    const accepted = added === undefined ? current.accepted : chainAcceptedKeys(current.accepted, added);
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
  const rules = replayRules(config);
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

/** Where an item is, for an error message (built only then: the fold runs for every accepted item). */
function where(event: RecordedEvent & { data: { session: number; index: number } }): string {
  return `session ${event.data.session} item ${event.data.index} (position ${event.position})`;
}
