import { threshold } from '../../../domain/federation.ts';
import type { Dag } from '../dag/dag.ts';
import { combinedHash, type PreUnit } from '../unit.ts';

/**
 * The parents of this node's unit of `round`: its own unit of round - 1 and the newest unit of every
 * other creator up to round - 1 (older ones too, so a slow peer's units are still referenced and
 * ordered). Undefined while the DAG cannot support the round: no own unit below, or fewer than
 * threshold units in round - 1.
 */
export function choosePreUnit(
  dag: Dag,
  options: { n: number; creator: number; round: number; session: bigint; data: () => Uint8Array },
): { preUnit: PreUnit; parents: (string | null)[] } | undefined {
  const { n, creator, round, session } = options;
  const rounds: (number | undefined)[] = [];
  const hashes: string[] = [];
  const parents: (string | null)[] = [];
  if (round > 0) {
    if (dag.at(creator, round - 1) === undefined) return undefined;
    if (dag.creatorsInRound(round - 1) < threshold(n)) return undefined;
  }
  for (let c = 0; c < n; c++) {
    const parent = round === 0 ? undefined : c === creator ? dag.at(c, round - 1) : dag.newestUpTo(c, round - 1);
    rounds.push(parent?.round);
    parents.push(parent?.hash ?? null);
    if (parent !== undefined) hashes.push(parent.hash);
  }
  const preUnit = { creator, round, session, controlHash: { parents: rounds, combinedHash: combinedHash(hashes) }, data: options.data() };
  return { preUnit, parents };
}

/**
 * Whether the DAG is genuinely ahead of `round`: threshold creators already hold a unit of it, so
 * waiting out the round delay would only keep this node behind.
 */
export function dagIsAhead(dag: Dag, n: number, round: number): boolean {
  return dag.creatorsInRound(round) >= threshold(n);
}
