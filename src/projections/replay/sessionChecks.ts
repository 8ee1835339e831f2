import { federationTag } from '../../domain/federation.ts';
import { bytesToHex, hexToBytes } from '../../domain/hashing.ts';
import { createMerkleAccumulator, type MerkleAccumulator } from '../../domain/merkleAccumulator.ts';
import type { SignatureCheck } from '../../domain/signatureBackend.ts';
import { concludeSignedOutcomeCheck, planSignedOutcomeCheck, type SignedOutcomePlan } from '../../domain/signedOutcomeCheck.ts';
import { createBatchVerifier } from '../../runtime/signatures/batchVerifier.ts';
import type { FederationConfigured, ItemAccepted, SessionCompleted, SignatureRecorded } from '../../streams/events.ts';
import { nativeAcceptedItemHash, nativeHashPair } from '../nativeSha256.ts';
import { planRecordedSignatures, storedItemProblems, type RecordedSignature, type RecordedSignaturesPlan } from '../storedDataChecks.ts';
import type { ReplayProblem } from './replayReport.ts';

/**
 * What replay checks of each session: header(i) recomputed from its ItemAccepted items (and their
 * derived fields, storedDataChecks.ts), and its SessionCompleted signatures and SignatureRecorded
 * flags, all verified in one batch once the log is read.
 */

/** Worker threads pay off only for many signatures (a long multi-guardian history); fewer are checked inline. */
const WORKERS_FROM = 512;

interface OpenSession {
  leaves: MerkleAccumulator;
  /** False when replay started after the session's first item (from a checkpoint): its header cannot be recomputed. */
  complete: boolean;
  /** Its SignatureRecorded events, checked against the recomputed header once it completes. */
  recorded: RecordedSignature[];
}

/** A completed session's signatures, verified in one batch with every other session's at the end. */
interface PendingSignatures {
  session: number;
  plan: SignedOutcomePlan;
  /** Where its checks start in the batch. */
  first: number;
  /** Its SignatureRecorded events' checks, right after the plan's in the batch. */
  recorded: RecordedSignaturesPlan;
}

export interface SessionChecks {
  onItem(data: ItemAccepted, item: Uint8Array): void;
  onSignatureRecorded(data: SignatureRecorded): void;
  onCompleted(data: SessionCompleted): void;
  /** Sessions whose header and signatures were checked. */
  readonly verified: number;
  /** Verifies every signature planned so far and reports the sessions that fail. */
  concludeSignatures(signal: AbortSignal | undefined): Promise<void>;
}

/**
 * `fromStart`: the read starts at position 0, so every session is read from its first event (else
 * a session whose first item was not read cannot have its header recomputed).
 */
export function sessionChecks(federation: FederationConfigured | undefined, fromStart: boolean, problems: ReplayProblem[]): SessionChecks {
  const keys = federation === undefined ? undefined : new Map(Object.entries(federation.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  const tag = keys === undefined ? undefined : federationTag(keys);
  const sessions = new Map<number, OpenSession>();
  const signatureChecks: SignatureCheck[] = [];
  const pendingSignatures: PendingSignatures[] = [];
  let verified = 0;

  const openSession = (session: number, firstItem: boolean): OpenSession => {
    let open = sessions.get(session);
    if (open === undefined) {
      open = { leaves: createMerkleAccumulator(nativeHashPair), complete: firstItem || fromStart, recorded: [] };
      sessions.set(session, open);
    }
    return open;
  };

  return {
    get verified() {
      return verified;
    },

    onItem(data, item) {
      const { session, index, peer } = data;
      const open = openSession(session, index === 0);
      const leaf = nativeAcceptedItemHash(item, peer);
      // Derived fields are served (the API's items) and relied on (a restart's merkle leaves): recomputed, whatever the session.
      for (const detail of storedItemProblems(data, item, leaf)) problems.push({ kind: 'header', session, detail: `item ${index}: ${detail}` });
      if (!open.complete) return;
      if (index !== open.leaves.count) {
        problems.push({ kind: 'header', session, detail: `item index ${index} where ${open.leaves.count} was expected` });
        open.complete = false;
        return;
      }
      open.leaves.add(leaf);
    },

    onSignatureRecorded(data) {
      openSession(data.session, false).recorded.push(data);
    },

    onCompleted(data) {
      const open = sessions.get(data.session) ?? { leaves: createMerkleAccumulator(nativeHashPair), complete: fromStart, recorded: [] };
      sessions.delete(data.session);
      if (!open.complete) return;
      verified++;
      const accepted = open.leaves.count;
      const header = open.leaves.header(data.session);
      const computed = bytesToHex(header);
      if (computed !== data.header) problems.push({ kind: 'header', session: data.session, detail: 'stored header differs from the header of the accepted items', stored: data.header, computed });
      else if (data.itemCount !== accepted) problems.push({ kind: 'header', session: data.session, detail: `itemCount ${data.itemCount}, but ${accepted} items were accepted` });
      if (keys === undefined || tag === undefined) {
        problems.push({ kind: 'signature', session: data.session, detail: 'no FederationConfigured event: signatures cannot be verified' });
        return;
      }
      const plan = planSignedOutcomeCheck({ header: hexToBytes(data.header), signatures: data.signatures, keys, tag });
      const recorded = planRecordedSignatures(open.recorded, header, keys, tag);
      pendingSignatures.push({ session: data.session, plan, first: signatureChecks.length, recorded });
      for (const check of plan.checks) signatureChecks.push(check);
      for (const check of recorded.checks) signatureChecks.push(check);
    },

    async concludeSignatures(signal) {
      if (pendingSignatures.length === 0) return;
      const verifier = signatureChecks.length === 0 ? undefined : createBatchVerifier();
      try {
        const mode = signatureChecks.length < WORKERS_FROM ? 'inline' : 'auto';
        const answers = verifier === undefined ? [] : await verifier.verifyBatch(signatureChecks, signal === undefined ? { mode } : { mode, signal });
        for (const { session, plan, first, recorded } of pendingSignatures) {
          const check = concludeSignedOutcomeCheck(plan, answers.slice(first, first + plan.checks.length));
          if (!check.met) problems.push({ kind: 'signature', session, detail: `${check.valid.length} valid federation signatures, threshold is ${check.threshold}` });
          const recordedFirst = first + plan.checks.length;
          for (const detail of recorded.conclude(answers.slice(recordedFirst, recordedFirst + recorded.checks.length))) problems.push({ kind: 'signature', session, detail });
        }
      } finally {
        await verifier?.close();
      }
    },
  };
}
