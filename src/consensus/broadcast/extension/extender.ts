import { startRoundElection, type RoundElection, type UnitsView, type VotingUnit } from './election.ts';

/**
 * The ordering: elects one head per round and emits, as a batch, the head's ancestors that were not
 * output before, in a canonical causal order (by round, then creator, then hash; the head last). It is a pure function of the DAG: any arrival order that
 * adds parents before children yields the same batches.
 */
export interface Extender<U extends VotingUnit> {
  /** Adds a unit whose parents were all added before; returns the batches this unit completed. */
  add(unit: U): U[][];
  /** The round whose head is being elected next. */
  readonly round: number;
}

export function createExtender<U extends VotingUnit>(n: number): Extender<U> {
  const units = new Map<string, U>();
  const byRound = new Map<number, U[]>();
  let highest = -1;
  let round = 0;
  let election: RoundElection | undefined;

  const view: UnitsView = {
    get: (hash) => units.get(hash),
    inRound: (r) => byRound.get(r) ?? [],
    highestRound: () => highest,
  };

  function removeBatch(head: string): U[] {
    const first = units.get(head);
    if (first === undefined) throw new Error(`head ${head} is not among the pending units`);
    units.delete(head);
    const batch: U[] = [];
    const queue: U[] = [first];
    for (let i = 0; i < queue.length; i++) {
      const unit = queue[i]!;
      for (const parent of unit.parents) {
        if (parent === null) continue;
        const next = units.get(parent);
        if (next === undefined) continue;
        units.delete(parent);
        queue.push(next);
      }
      batch.push(unit);
    }
    // Parents may sit in any older round, so breadth-first order alone is not causal; (round, creator,
    // hash) is, since every parent has a lower round, and it is canonical. The head comes last.
    return batch.sort((a, b) => a.round - b.round || a.creator - b.creator || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }

  function forgetRoundsBelow(limit: number): void {
    // Rounds at or below a decided head are never voted on again; dropping their index bounds memory.
    for (const r of byRound.keys()) if (r < limit - 1) byRound.delete(r);
  }

  return {
    get round() {
      return round;
    },
    add(unit) {
      if (units.has(unit.hash)) return [];
      units.set(unit.hash, unit);
      const list = byRound.get(unit.round);
      if (list === undefined) byRound.set(unit.round, [unit]);
      else list.push(unit);
      if (unit.round > highest) highest = unit.round;

      const batches: U[][] = [];
      let result = election === undefined ? startRoundElection(round, view, n) : election.addVoter(unit);
      while (result !== undefined) {
        if (result.kind === 'pending') {
          election = result.election;
          break;
        }
        batches.push(removeBatch(result.head));
        round++;
        election = undefined;
        forgetRoundsBelow(round);
        result = startRoundElection(round, view, n);
      }
      return batches;
    },
  };
}

/** The whole ordering of a DAG given in any parents-first order: the batches, flattened. */
export function orderDag<U extends VotingUnit>(n: number, unitsInArrivalOrder: Iterable<U>): U[] {
  const extender = createExtender<U>(n);
  const out: U[] = [];
  for (const unit of unitsInArrivalOrder) for (const batch of extender.add(unit)) out.push(...batch);
  return out;
}
