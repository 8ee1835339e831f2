import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { auditSummaryFromJson, auditSummaryJsonSchema, auditSummaryToJson } from '../domain/audit.ts';
import { LEDGER_JSON_VERSION, ledgerModulesToJson, ledgerStateFromJson, ledgerStateToJson } from '../domain/ledger.ts';
import { modulesConfigFromJson, modulesConfigJsonSchema, modulesConfigToJson } from '../domain/modules/consensusModules.ts';
import { replayRules, type LedgerConfig, type LedgerProjectionState } from './ledgerFold.ts';
import { acceptedTxidsList } from './ledgerTxidsText.ts';
import { canonicalHashWriter, fastCanonicalJson, sharedSnapshotPart, type CanonicalHashWriter } from './projection.ts';

/**
 * The `ledger` projection's snapshot: its JSON (made and read back) and the canonical text of that
 * JSON, which `stateHash` hashes and which is written without building the JSON.
 */

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
  const rules = replayRules(config);
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
 * text) from acceptedTxidsList.
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
    const txids = acceptedTxidsList(state.ledger.acceptedTxids, state.accepted);
    if (txids.length > 0) parts.push(txids);
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
