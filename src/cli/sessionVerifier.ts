/**
 * The auditor's check of signed session outcomes, one session at a time, in order, trusting
 * nothing but the federation keys:
 *   1. header(i) recomputed from the items equals the header the source states;
 *   2. at least threshold(n) distinct federation peers signed the recomputed header (checkSignedOutcome's rule);
 *   3. (from session 0 only) the items, re-processed by the domain ledger with real transaction
 *      signature checks, are all accepted and never take net assets below zero;
 *   4. (a log only) what the guardian derived beside the items is what they give: each item's
 *      itemHash and txid, its netAssets (while the recomputed ledger has not diverged), and each
 *      SignatureRecorded's `valid` against the recomputed header.
 * Every deviation is a Finding; nothing here throws for what the data says, only for bugs.
 *
 * Transaction signatures are checked speculatively to use the batch verifier: the session is first
 * processed with a verifier that records each check and answers "valid", then every recorded check
 * is verified in one batch (worker threads for large sessions) together with the session
 * signatures. If all hold, the speculative run made exactly the calls, and got exactly the answers,
 * of a run with real verification, so its result stands. If any fails, the session is processed
 * again from its starting state with real inline verification, and that run's result is used.
 */
import { AuditFailure, type AuditSummary } from '../domain/audit.ts';
import { decodeConsensusItem, type ConsensusItem } from '../domain/consensusItem.ts';
import { federationTag, type FederationKeys } from '../domain/federation.ts';
import { bytesToHex, header as sessionHeader } from '../domain/hashing.ts';
import { createLedger, type LedgerState, type VerifySignature } from '../domain/ledger.ts';
import { codecRegistry } from '../domain/module.ts';
import { createModules, type ModulesConfig } from '../domain/modules/consensusModules.ts';
import { acceptedItemHashOfEncoded } from '../domain/sessionOutcome.ts';
import { concludeSignedOutcomeCheck, planSignedOutcomeCheck } from '../domain/signedOutcomeCheck.ts';
import { planRecordedSignatures, storedItemProblems } from '../projections/storedDataChecks.ts';
import type { SchnorrBackend, SignatureCheck } from '../domain/signatureBackend.ts';
import type { BatchVerifier } from '../runtime/signatures/batchVerifier.ts';
import type { SignedOutcomeRecord } from './signedOutcomeSource.ts';

export type Finding =
  | { kind: 'keys'; detail: string }
  | { kind: 'sequence'; session: number; detail: string }
  | { kind: 'header'; session: number; detail: string; stated?: string; computed?: string }
  | { kind: 'signatures'; session: number; detail: string; valid: number; threshold: number }
  | { kind: 'item'; session: number; index: number; detail: string }
  | { kind: 'audit'; session: number; index: number; detail: string; netAssets: string }
  /** A field the guardian derived and recorded (itemHash, txid, netAssets, SignatureRecorded) is not what it is derived from. */
  | { kind: 'stored'; session: number; index?: number; detail: string }
  /** The source's FederationConfigured does not hold, or its file is damaged. */
  | { kind: 'federation' | 'file'; detail: string };

/** The same shape as GET /v1/audit/history's sheets, so the two can be compared line by line. */
export interface BalanceSheet {
  session: number;
  itemCount: number;
  modules: Array<{ module: number; moduleName?: string; name: string; msat: string }>;
  netAssets: string;
}

export interface SessionVerification {
  session: number;
  items: number;
  /** header(i) recomputed from the items (hex). */
  header: string;
  /** The stated header (and item count/indices, when the source has them) match the items. */
  headerOk: boolean;
  signatures: { valid: number; threshold: number; present: number; validPeers: number[] };
  /** After the session's items; absent when balance sheets are not recomputed (not starting at 0). */
  balanceSheet?: BalanceSheet;
  findings: Finding[];
}

export interface SessionVerifierOptions {
  keys: FederationKeys;
  modules: ModulesConfig;
  /** Re-process the items and recompute the balance sheet; needs every session from 0. */
  balanceSheets: boolean;
  /** Verifies session and transaction signatures in batches (the caller owns and closes it). */
  batchVerifier: BatchVerifier;
  /** Inline verification for the rare re-run of a session with an invalid transaction signature. */
  backend: SchnorrBackend;
  /** The first session that will be passed to verify (default 0). */
  from?: number;
  signal?: AbortSignal;
}

export interface SessionVerifier {
  /** Checks the next session; sessions must come in order from `from`. */
  verify(record: SignedOutcomeRecord): Promise<SessionVerification>;
}

interface SessionRun {
  state: LedgerState;
  findings: Finding[];
  /** Stored net assets that differ from the recomputed ones. */
  stored: Finding[];
  /** Transaction signature checks the ledger asked for, in order. */
  checks: SignatureCheck[];
}

export function createSessionVerifier(options: SessionVerifierOptions): SessionVerifier {
  const { keys, batchVerifier, backend } = options;
  const tag = federationTag(keys);
  let active: VerifySignature = backend.verify;
  const ledger = createLedger({ peerCount: keys.size, modules: createModules(options.modules), verify: (signature, message, publicKey) => active(signature, message, publicKey) });
  const moduleNames = new Map([...ledger.rules.modules].map(([id, module]) => [id, module.name]));
  const codecs = codecRegistry(ledger.rules.modules);
  let state = ledger.initialState;
  let expected = options.from ?? 0;
  /** Once the recomputed ledger rejected an item, later stored net assets can no longer be judged. */
  let diverged = false;

  function run(session: number, items: ReadonlyArray<{ item: ConsensusItem; peer: number; index: number }>, verify: VerifySignature | 'record', netAssets?: readonly string[]): SessionRun {
    const checks: SignatureCheck[] = [];
    active =
      verify === 'record'
        ? (signature, message, publicKey) => {
            checks.push({ signature, message, publicKey });
            return true;
          }
        : verify;
    const findings: Finding[] = [];
    const stored: Finding[] = [];
    let current = state;
    try {
      for (const { item, peer, index } of items) {
        try {
          const outcome = ledger.processItem(current, item, peer);
          if (outcome.ok) {
            current = outcome.state;
            const recorded = netAssets?.[index];
            const computed = outcome.audit.netAssets.toString();
            if (recorded !== undefined && recorded !== computed && !diverged && findings.length === 0) stored.push({ kind: 'stored', session, index, detail: `stored netAssets ${recorded} msat, but the ledger's are ${computed}` });
          }
          // The federation signed it as accepted: a rejection means its guardians ran other rules.
          else findings.push({ kind: 'item', session, index, detail: `rejected by the ledger: ${outcome.reason}${outcome.txid === undefined ? '' : ` (txid ${bytesToHex(outcome.txid)})`}` });
        } catch (error) {
          if (!(error instanceof AuditFailure)) throw error;
          findings.push({ kind: 'audit', session, index, detail: error.message, netAssets: error.summary.netAssets.toString() });
        }
      }
    } finally {
      active = backend.verify;
    }
    return { state: current, findings, stored, checks };
  }

  function sheet(session: number, itemCount: number, audit: AuditSummary): BalanceSheet {
    return {
      session,
      itemCount,
      modules: audit.modules.map((line) => {
        const moduleName = moduleNames.get(line.module);
        return { module: line.module, ...(moduleName === undefined ? {} : { moduleName }), name: line.name, msat: line.msat.toString() };
      }),
      netAssets: audit.netAssets.toString(),
    };
  }

  return {
    async verify(record) {
      const session = record.session;
      const findings: Finding[] = [];
      if (session !== expected) findings.push({ kind: 'sequence', session, detail: `session ${session} where ${expected} was expected` });
      expected = session + 1;

      let headerOk = true;
      const leaves: Uint8Array[] = [];
      const leafBytes: Uint8Array[] = [];
      const items: Array<{ item: ConsensusItem; peer: number; index: number }> = [];
      for (const [index, { item: itemHex, peer, index: stated }] of record.items.entries()) {
        if (stated !== undefined && stated !== index) {
          headerOk = false;
          findings.push({ kind: 'header', session, detail: `item ${index} is recorded with index ${stated}` });
        }
        const bytes = new Uint8Array(Buffer.from(itemHex, 'hex'));
        leafBytes.push(bytes);
        leaves.push(acceptedItemHashOfEncoded(bytes, peer));
        if (!keys.has(peer)) findings.push({ kind: 'item', session, index, detail: `carried by peer ${peer}, who is not in the federation` });
        const decoded = decodeConsensusItem(bytes, codecs);
        if (decoded.ok) items.push({ item: decoded.value, peer, index });
        else findings.push({ kind: 'item', session, index, detail: `not a canonical consensus item: ${decoded.error.message}` });
      }
      const computed = sessionHeader(session, leaves);
      const computedHex = bytesToHex(computed);
      if (computedHex !== record.header) {
        headerOk = false;
        findings.push({ kind: 'header', session, detail: 'the stated header is not the header of the items', stated: record.header, computed: computedHex });
      }
      if (record.itemCount !== undefined && record.itemCount !== record.items.length) {
        headerOk = false;
        findings.push({ kind: 'header', session, detail: `itemCount ${record.itemCount}, but ${record.items.length} items` });
      }

      // What the log derived beside each item, recomputed from it (reported after what the federation signed).
      const stored: Finding[] = [];
      record.stored?.items.forEach((fields, index) => {
        for (const detail of storedItemProblems(fields, leafBytes[index]!, leaves[index]!)) stored.push({ kind: 'stored', session, index, detail });
      });

      // Signatures must cover the header of the items themselves: a valid signature over a stated header that does not match proves nothing about them.
      const plan = planSignedOutcomeCheck({ header: computed, signatures: record.signatures, keys, tag });
      const recorded = planRecordedSignatures(record.stored?.signatures ?? [], computed, keys, tag);
      const checks = [...plan.checks, ...recorded.checks];

      const start = state;
      const netAssets = record.stored?.items.map((fields) => fields.netAssets);
      let sessionRun = options.balanceSheets ? run(session, items, 'record', netAssets) : undefined;
      const txChecks = sessionRun?.checks ?? [];
      const signal = options.signal;
      const valid = await batchVerifier.verifyBatch([...checks, ...txChecks], signal === undefined ? {} : { signal });
      const signatures = concludeSignedOutcomeCheck(plan, valid.slice(0, plan.checks.length));
      if (!signatures.met) {
        findings.push({ kind: 'signatures', session, detail: `${signatures.valid.length} valid federation signatures of ${signatures.present} present, threshold is ${signatures.threshold}`, valid: signatures.valid.length, threshold: signatures.threshold });
      }
      for (const detail of recorded.conclude(valid.slice(plan.checks.length, checks.length))) stored.push({ kind: 'stored', session, detail });
      if (sessionRun !== undefined && valid.slice(checks.length).some((ok) => !ok)) {
        // Some transaction signature is invalid: find out exactly which items the real rules reject.
        state = start;
        sessionRun = run(session, items, backend.verify, netAssets);
      }
      if (sessionRun !== undefined) {
        state = sessionRun.state;
        findings.push(...sessionRun.findings);
        stored.push(...sessionRun.stored);
        if (sessionRun.findings.length > 0) diverged = true;
      }
      findings.push(...stored);
      return {
        session,
        items: record.items.length,
        header: computedHex,
        headerOk,
        signatures: { valid: signatures.valid.length, threshold: signatures.threshold, present: signatures.present, validPeers: signatures.valid },
        ...(sessionRun === undefined ? {} : { balanceSheet: sheet(session, record.items.length, ledger.audit(state)) }),
        findings,
      };
    },
  };
}
