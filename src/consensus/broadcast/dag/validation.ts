import { threshold } from '../../../domain/federation.ts';
import { hexToBytes } from '../../../domain/hashing.ts';
import { maxRound, type BroadcastConfig } from '../config.ts';
import type { UnitSigner } from '../signer.ts';
import type { HashedUnit, SignedUnit } from '../unit.ts';

export type UnitRejection =
  | 'wrongSession'
  | 'unknownCreator'
  | 'roundTooHigh'
  | 'wrongParentCount'
  | 'roundZeroWithParents'
  | 'missingOwnParent'
  | 'notEnoughParents'
  | 'parentAboveRound'
  | 'dataTooLarge'
  | 'badSignature';

export type Validation = { ok: true } | { ok: false; reason: UnitRejection };

/**
 * The rules every unit must meet before it may enter the DAG. The cheap structural checks come
 * first, so garbage costs no signature verification.
 */
export function validateUnit(unit: HashedUnit, config: BroadcastConfig, signer: UnitSigner): Validation {
  const reason = unitStructureRejection(unit.unit, config);
  if (reason !== undefined) return { ok: false, reason };
  if (!signer.verify(unit.unit.preUnit.creator, hexToBytes(unit.hash), unit.unit.signature)) return { ok: false, reason: 'badSignature' };
  return { ok: true };
}

/** The rules that need no signature: what an alert's units are checked against before any verification. */
export function unitStructureRejection(unit: SignedUnit, config: BroadcastConfig): UnitRejection | undefined {
  const { creator, round, session, controlHash, data } = unit.preUnit;
  if (session !== config.session) return 'wrongSession';
  if (creator >= config.n) return 'unknownCreator';
  if (round > maxRound(config)) return 'roundTooHigh';
  if (data.length > config.maxDataBytes) return 'dataTooLarge';
  const parents = controlHash.parents;
  if (parents.length !== config.n) return 'wrongParentCount';
  if (round === 0) return parents.some((p) => p !== undefined) ? 'roundZeroWithParents' : undefined;
  // The own parent one round below is what makes "two units in one round" a provable fork.
  if (parents[creator] !== round - 1) return 'missingOwnParent';
  let direct = 0;
  for (const parentRound of parents) {
    if (parentRound === undefined) continue;
    if (parentRound > round - 1) return 'parentAboveRound';
    if (parentRound === round - 1) direct++;
  }
  if (direct < threshold(config.n)) return 'notEnoughParents';
  return undefined;
}
