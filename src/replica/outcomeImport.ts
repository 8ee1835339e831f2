/**
 * A served signed outcome, checked and turned into the events a guardian records when a peer's
 * signed outcome completes a session (engine.ts's completeSignedOutcome): ItemAccepted per item,
 * SignatureRecorded per valid signature, SessionCompleted with source 'peer'. The outcome is
 * trusted for its signatures only: the header must be the merkle root of the items served, a
 * threshold of the pinned keys must have signed it, and the ledger must accept every item.
 */
import { decodeConsensusItem, encodedTransactionOf, type ConsensusItem } from '../domain/consensusItem.ts';
import type { FederationKeys } from '../domain/federation.ts';
import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import { processItem, type LedgerRules, type LedgerState } from '../domain/ledger.ts';
import { codecRegistry } from '../domain/module.ts';
import { acceptedItemHashOfEncoded, sessionHeader, type AcceptedItem } from '../domain/sessionOutcome.ts';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { checkSignedOutcome } from '../domain/signedOutcomeCheck.ts';
import type { EventToAppend } from '../streams/eventLog.ts';
import { newEvent } from '../streams/events.ts';
import type { SessionTimes, SignedAnswer } from './guardianFeed.ts';

/** The guardian served an outcome the federation did not sign (or one this ledger cannot accept): never recorded. */
export class OutcomeRefusedError extends Error {
  override readonly name = 'OutcomeRefusedError';
  constructor(
    readonly session: number,
    readonly reason: string,
  ) {
    super(`session ${session}: refused the guardian's signed outcome: ${reason}`);
  }
}

export interface ImportContext {
  keys: FederationKeys;
  rules: LedgerRules;
  backend: SchnorrBackend;
}

export interface ImportedSession {
  events: EventToAppend[];
  state: LedgerState;
  header: string;
  itemCount: number;
}

/** Checks `answer` and builds session `answer.session`'s events over `state`; throws OutcomeRefusedError. */
export function importSignedOutcome(context: ImportContext, state: LedgerState, answer: SignedAnswer, times?: SessionTimes): ImportedSession {
  const { session } = answer;
  const refuse = (reason: string) => new OutcomeRefusedError(session, reason);
  const registry = codecRegistry(context.rules.modules);
  const items: AcceptedItem[] = [];
  const encodedItems: Uint8Array[] = [];
  for (const [index, { peer, item }] of answer.items.entries()) {
    const encoded = hexToBytes(item);
    const decoded = decodeConsensusItem(encoded, registry);
    if (!decoded.ok) throw refuse(`item ${index} does not decode (${decoded.error.kind})`);
    if (!context.keys.has(peer)) throw refuse(`item ${index} is attributed to peer ${peer}, who is not in the federation`);
    items.push({ item: decoded.value as ConsensusItem, peer });
    encodedItems.push(encoded);
  }
  const header = sessionHeader(session, { items });
  const headerHex = bytesToHex(header);
  if (headerHex !== answer.header) throw refuse(`the header served (${answer.header}) is not the header of the items served (${headerHex})`);
  const check = checkSignedOutcome({ header, signatures: answer.signatures, keys: context.keys, backend: context.backend });
  if (!check.met) {
    const details = [
      check.invalid.length > 0 ? `invalid signatures from peers ${check.invalid.join(', ')}` : '',
      check.unknown.length > 0 ? `signers outside the federation: ${check.unknown.join(', ')}` : '',
    ].filter((d) => d !== '');
    throw refuse(`only ${check.valid.length} of the ${check.threshold} signatures needed verify against the federation keys${details.length > 0 ? ` (${details.join('; ')})` : ''}`);
  }

  const startedAt = times?.startedAt === undefined ? {} : { metadata: { recordedAt: times.startedAt } };
  const completedAt = times?.completedAt === undefined ? {} : { metadata: { recordedAt: times.completedAt } };
  const events: EventToAppend[] = [];
  let next = state;
  for (const [index, { item, peer }] of items.entries()) {
    const encoded = encodedItems[index]!;
    let processed;
    try {
      processed = processItem(context.rules, next, item, peer, encodedTransactionOf(encoded));
    } catch (error) {
      throw refuse(`item ${index} breaks the ledger: ${error instanceof Error ? error.message : String(error)}`);
    }
    // The federation accepted every item of a signed outcome; a rejection here means this replica
    // and the federation disagree (module settings, or a bug), which must not be papered over.
    if (!processed.ok) throw refuse(`item ${index} is rejected by this replica's ledger: ${processed.reason}`);
    next = processed.state;
    const txid = processed.txid === undefined || item.kind !== 'transaction' ? undefined : bytesToHex(processed.txid);
    const data = { session, index, peer, item: bytesToHex(encoded), itemHash: bytesToHex(acceptedItemHashOfEncoded(encoded, peer)), ...(txid === undefined ? {} : { txid }), netAssets: processed.audit.netAssets.toString() };
    events.push({ ...newEvent('ItemAccepted', data), ...startedAt });
  }
  const valid: Record<string, string> = {};
  for (const peer of check.valid) {
    const signature = signatureOf(answer.signatures, peer);
    valid[String(peer)] = signature;
    events.push({ ...newEvent('SignatureRecorded', { session, peer, signature, valid: true }), ...startedAt });
  }
  events.push({ ...newEvent('SessionCompleted', { session, header: headerHex, itemCount: items.length, signatures: valid, source: 'peer' }), ...completedAt });
  return { events, state: next, header: headerHex, itemCount: items.length };
}

function signatureOf(signatures: Readonly<Record<string, string>>, peer: number): string {
  const signature = signatures[String(peer)];
  // checkSignedOutcome counted it valid, so it is there under its canonical name.
  if (signature === undefined) throw new Error(`peer ${peer}'s valid signature is missing`);
  return signature;
}
