import type { ReconstructedUnit } from './reconstruction.ts';

/**
 * The units this node uses: saved to the backup, then given to creation and ordering. Creation asks
 * it for parents (the newest unit of every creator up to a round) and for how full a round is.
 */
export interface Dag {
  add(unit: ReconstructedUnit): void;
  has(hash: string): boolean;
  /** The first unit added at (creator, round). */
  at(creator: number, round: number): ReconstructedUnit | undefined;
  /** The newest unit of `creator` at or below `round`. */
  newestUpTo(creator: number, round: number): ReconstructedUnit | undefined;
  newestRound(creator: number): number;
  /** Distinct creators with a unit in `round`. */
  creatorsInRound(round: number): number;
  readonly size: number;
}

export function createDag(n: number): Dag {
  const hashes = new Set<string>();
  const byCreator: Map<number, ReconstructedUnit>[] = Array.from({ length: n }, () => new Map());
  const newest: number[] = Array.from({ length: n }, () => -1);
  const roundFill = new Map<number, number>();

  return {
    add(unit) {
      if (hashes.has(unit.hash)) return;
      hashes.add(unit.hash);
      const rounds = byCreator[unit.creator]!;
      if (rounds.has(unit.round)) return;
      rounds.set(unit.round, unit);
      roundFill.set(unit.round, (roundFill.get(unit.round) ?? 0) + 1);
      if (unit.round > newest[unit.creator]!) newest[unit.creator] = unit.round;
    },
    has: (hash) => hashes.has(hash),
    at: (creator, round) => byCreator[creator]?.get(round),
    newestUpTo(creator, round) {
      const rounds = byCreator[creator]!;
      for (let r = Math.min(round, newest[creator]!); r >= 0; r--) {
        const unit = rounds.get(r);
        if (unit !== undefined) return unit;
      }
      return undefined;
    },
    newestRound: (creator) => newest[creator] ?? -1,
    creatorsInRound: (round) => roundFill.get(round) ?? 0,
    get size() {
      return hashes.size;
    },
  };
}
