/**
 * A session as a guardian recorded it in its own log (ItemAccepted events and SessionCompleted),
 * checked the way a replica checks a signed outcome served over HTTP: the recorded items are the
 * header's merkle leaves (their itemHash and txid too), the header is header(i) of those items,
 * and a threshold of the pinned keys signed it. What the guardian derived beside the signed items
 * (ItemRejected, UnitOrdered, netAssets) is its own record, which no signature covers.
 */
import type { FederationKeys } from '../domain/federation.ts';
import { bytesToHex, header as headerOf, hexToBytes } from '../domain/hashing.ts';
import { acceptedItemHashOfEncoded } from '../domain/sessionOutcome.ts';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { checkSignedOutcome } from '../domain/signedOutcomeCheck.ts';
import { storedItemProblems } from '../projections/storedDataChecks.ts';
import type { FedlogEventData } from '../streams/events.ts';

export interface SessionCheckContext {
  keys: FederationKeys;
  backend: SchnorrBackend;
  /** federationTag(keys), computed once. */
  tag: Uint8Array;
}

/** Why session `expected` as recorded cannot be served, or undefined when it holds. */
export function completedSessionProblem(
  context: SessionCheckContext,
  expected: number,
  completed: FedlogEventData<'SessionCompleted'>,
  recorded: readonly FedlogEventData<'ItemAccepted'>[],
): string | undefined {
  if (completed.session !== expected) return `SessionCompleted of session ${completed.session} where session ${expected} comes next`;
  const items = recorded.filter((item) => item.session === expected).sort((a, b) => a.index - b.index);
  if (items.length !== completed.itemCount) return `SessionCompleted counts ${completed.itemCount} items, the log holds ${items.length}`;
  const leaves: Uint8Array[] = [];
  for (const [position, item] of items.entries()) {
    if (item.index !== position) return `item indices are not 0..${items.length - 1} (found ${item.index} at ${position})`;
    if (!context.keys.has(item.peer)) return `item ${item.index} is attributed to peer ${item.peer}, who is not in the federation`;
    const bytes = hexToBytes(item.item);
    const leaf = acceptedItemHashOfEncoded(bytes, item.peer);
    const [problem] = storedItemProblems(item, bytes, leaf);
    if (problem !== undefined) return `item ${item.index}: ${problem}`;
    leaves.push(leaf);
  }
  const header = headerOf(expected, leaves);
  if (bytesToHex(header) !== completed.header) return 'the recorded header is not header(i) of the recorded items';
  const check = checkSignedOutcome({ header, signatures: completed.signatures, keys: context.keys, tag: context.tag, backend: context.backend });
  if (check.met) return undefined;
  // Worded as the HTTP replica words it (outcomeImport.ts), so an operator reads one message in either mode.
  const details = [check.invalid.length > 0 ? `invalid signatures from peers ${check.invalid.join(', ')}` : '', check.unknown.length > 0 ? `signers outside the federation: ${check.unknown.join(', ')}` : ''].filter((d) => d !== '');
  return `only ${check.valid.length} of the ${check.threshold} signatures needed verify against the federation keys${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
}
