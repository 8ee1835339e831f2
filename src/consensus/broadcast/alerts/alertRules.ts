/**
 * The rules an alert must meet that cost no signature verification, as AlephBFT's alerter applies
 * them: a peer's garbage is refused for the price of decoding it. Signatures come after, in the
 * alerter, and only for an alert that can still count (the first of its sender about its forker).
 */
import { withHash, type SignedUnit } from '../unit.ts';
import type { Alert } from './alert.ts';

export type AlertRejection =
  | 'unknownSender'
  | 'unknownForker'
  | 'proofNotTwoUnits'
  | 'proofNotByForker'
  | 'proofRoundsDiffer'
  | 'proofUnitsEqual'
  | 'tooManyLegitUnits'
  | 'legitNotByForker'
  | 'legitRoundRepeated'
  | 'malformedUnit';

export interface AlertLimits {
  n: number;
  /** Legit units are at most one per round, so never more than the rounds of a session. */
  maxLegitUnits: number;
  /** The unit rules that need no signature (session, creator, round range, parents). */
  unitIsWellFormed(unit: SignedUnit): boolean;
}

/** Whether the sender and forker are members: checked before anything is looked up for them. */
export function membersRejection(alert: Pick<Alert, 'sender' | 'forker'>, n: number): AlertRejection | undefined {
  if (alert.sender >= n) return 'unknownSender';
  if (alert.forker >= n) return 'unknownForker';
  return undefined;
}

/**
 * The proof is two distinct units of the forker at one round; the legit units are the forker's, at
 * most one per round and at most maxLegitUnits, so a sender commits to a bounded set of units.
 */
export function structureRejection(alert: Alert, limits: AlertLimits): AlertRejection | undefined {
  const members = membersRejection(alert, limits.n);
  if (members !== undefined) return members;
  if (alert.proof.length !== 2) return 'proofNotTwoUnits';
  const [a, b] = alert.proof as [SignedUnit, SignedUnit];
  if (a.preUnit.creator !== alert.forker || b.preUnit.creator !== alert.forker) return 'proofNotByForker';
  if (a.preUnit.round !== b.preUnit.round) return 'proofRoundsDiffer';
  if (!limits.unitIsWellFormed(a) || !limits.unitIsWellFormed(b)) return 'malformedUnit';
  if (withHash(a).hash === withHash(b).hash) return 'proofUnitsEqual';
  if (alert.legitUnits.length > limits.maxLegitUnits) return 'tooManyLegitUnits';
  const rounds = new Set<number>();
  for (const unit of alert.legitUnits) {
    if (unit.preUnit.creator !== alert.forker) return 'legitNotByForker';
    if (rounds.has(unit.preUnit.round)) return 'legitRoundRepeated';
    rounds.add(unit.preUnit.round);
    if (!limits.unitIsWellFormed(unit)) return 'malformedUnit';
  }
  return undefined;
}
