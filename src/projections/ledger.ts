import { z } from 'zod';
import { auditSummaryFromJson, auditSummaryJsonSchema, auditSummaryToJson, computeAudit, type AuditSummary } from '../domain/audit.ts';
import { decodeConsensusItem, encodedTransactionOf } from '../domain/consensusItem.ts';
import { initialLedgerState, ledgerRules, ledgerStateFromJson, ledgerStateToJson, processItem, type LedgerRules, type LedgerState, type VerifySignature } from '../domain/ledger.ts';
import { createModules, modulesConfigFromJson, modulesConfigJsonSchema, modulesConfigToJson, type ModulesConfig } from '../domain/modules/consensusModules.ts';
import { isEvent } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import { acceptedItemBytes } from './acceptedItemBytes.ts';
import { nativeSha256 } from './nativeSha256.ts';
import { sharedSnapshotPart, type Projection } from './projection.ts';

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
  const to = step(state, event);
  lastStep = { event, from: state, to };
  return to;
}

function step(state: LedgerProjectionState, event: RecordedEvent): LedgerProjectionState {
  if (isEvent(event, 'FederationConfigured')) {
    // The federation is configured once; a repeated event (e.g. a retried write) changes nothing.
    if (state.config !== undefined) return state;
    const config: LedgerConfig = { peerCount: event.data.peers.length, modules: modulesConfigFromJson(event.data.modules) };
    const rules = rulesFor(config);
    const ledger = initialLedgerState(rules);
    return { config, rules, ledger, audit: computeAudit(rules.modules, ledger.modules) };
  }
  if (!isEvent(event, 'ItemAccepted')) return state;
  const { session, index, peer, netAssets } = event.data;
  if (state.rules === undefined || state.ledger === undefined) throw new LedgerDivergenceError(`${where(event)} was accepted before the federation was configured`);
  const bytes = acceptedItemBytes(event);
  const decoded = decodeConsensusItem(bytes);
  if (!decoded.ok) throw new LedgerDivergenceError(`${where(event)} does not decode: ${decoded.error.kind}`);
  // The item was just decoded from these bytes, so its transaction's encoding is a view of them.
  const outcome = processItem(state.rules, state.ledger, decoded.value, peer, decoded.value.kind === 'transaction' ? encodedTransactionOf(bytes) : undefined);
  if (!outcome.ok) throw new LedgerDivergenceError(`${where(event)} was accepted but the ledger rejects it: ${outcome.reason}`);
  // The engine recorded the audit's net assets with the item; a different figure means the ledger changed meaning.
  if (outcome.audit.netAssets.toString() !== netAssets) {
    throw new LedgerDivergenceError(`${where(event)}: net assets ${outcome.audit.netAssets} msat, but the log recorded ${netAssets}`);
  }
  return { config: state.config, rules: state.rules, ledger: outcome.state, audit: outcome.audit, lastItem: { session, index } };
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

export const ledgerProjection: Projection<LedgerProjectionState> = {
  name: 'ledger',
  version: 1,
  initial: initialLedgerProjectionState,
  evolve: evolveLedger,
  toSnapshot: ledgerStateSnapshot,
  fromSnapshot: ledgerStateFromSnapshot,
};

/**
 * What the engine needs to resume validating: the ledger state and the configuration it was built
 * under. The engine builds its own rules (with real signature verification) for new items.
 */
export function ledgerSeed(state: LedgerProjectionState): { ledger: LedgerState; config: LedgerConfig; audit: AuditSummary; lastItem?: { session: number; index: number } } | undefined {
  if (state.config === undefined || state.ledger === undefined) return undefined;
  return { ledger: state.ledger, config: state.config, audit: state.audit, ...(state.lastItem === undefined ? {} : { lastItem: state.lastItem }) };
}
