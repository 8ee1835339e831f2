import { equalBytes } from '../../../domain/hashing.ts';
import type { VotingUnit } from '../extension/election.ts';
import { combinedHash, coordKey, type HashedUnit } from '../unit.ts';

/** A unit whose parents are all known, identified by hash. */
export interface ReconstructedUnit extends VotingUnit, HashedUnit {}

export interface Coord {
  creator: number;
  round: number;
}

export interface ReconstructionOutput {
  /** Newly reconstructed units, parents always before children. */
  units: ReconstructedUnit[];
  /** Coordinates no unit of which is known yet: ask peers for them. */
  missingCoords: Coord[];
  /** Units whose control hash did not match the units we hold at its coordinates: ask for their parents by hash. */
  missingParents: string[];
}

interface Waiting {
  unit: HashedUnit;
  missing: Set<string>;
  /** Set when the parents were given explicitly (after a control-hash mismatch). */
  explicit: (string | null)[] | undefined;
}

/**
 * Resolves each unit's control hash to concrete parent units. A unit waits until every coordinate
 * its control hash names holds a unit; if the combined hash then does not match (a fork, or a lie),
 * its parents are asked for by hash and checked against the control hash before they are used.
 */
export interface Reconstruction {
  /** `parents` (per creator) is given only for own units, whose parents this node chose itself. */
  add(unit: HashedUnit, parents?: readonly (string | null)[]): ReconstructionOutput;
  /** Parents received for `child`; the caller has checked they match the child's control hash. */
  addExplicitParents(child: string, parents: readonly (string | null)[]): ReconstructionOutput;
  get(hash: string): ReconstructedUnit | undefined;
  /** True when the unit is reconstructed or waiting. */
  knows(hash: string): boolean;
  isWaiting(hash: string): boolean;
  waitingUnit(hash: string): HashedUnit | undefined;
  /** Reconstructed units at a coordinate (more than one only for a forker). */
  at(creator: number, round: number): readonly ReconstructedUnit[];
  /** The creator's units, the first reconstructed at each round, by round: a forker's alert commits to these. */
  ofCreator(creator: number): ReconstructedUnit[];
  /** Drops every waiting unit of `creator`: after a fork is found, its units enter only through alerts. */
  dropWaiting(creator: number): void;
}

export function createReconstruction(): Reconstruction {
  const byHash = new Map<string, ReconstructedUnit>();
  const byCoord = new Map<string, ReconstructedUnit[]>();
  const waiting = new Map<string, Waiting>();
  const waitersByKey = new Map<string, Set<string>>();

  function wait(key: string, child: string): void {
    let set = waitersByKey.get(key);
    if (set === undefined) waitersByKey.set(key, (set = new Set()));
    set.add(child);
  }

  /**
   * Resolves `ready` (units whose coordinates or explicit parents are all present) and every waiter
   * they complete, through a work list: a node catching up thousands of rounds resolves them in one
   * call, which a recursion from child to child would not survive (the stack overflows midway).
   */
  function settle(ready: Waiting[], out: ReconstructionOutput): void {
    for (let i = 0; i < ready.length; i++) {
      const w = ready[i]!;
      if (waiting.get(w.unit.hash) !== w) continue;
      const parents = w.explicit ?? parentsFromCoords(w, out);
      if (parents !== undefined) finish(w, parents, ready, out);
    }
  }

  function finish(w: Waiting, parents: (string | null)[], ready: Waiting[], out: ReconstructionOutput): void {
    const pre = w.unit.unit.preUnit;
    const unit: ReconstructedUnit = {
      hash: w.unit.hash,
      unit: w.unit.unit,
      creator: pre.creator,
      round: pre.round,
      parents,
      parentRounds: pre.controlHash.parents.map((r) => r ?? null),
    };
    waiting.delete(unit.hash);
    byHash.set(unit.hash, unit);
    const key = coordKey(unit.creator, unit.round);
    const list = byCoord.get(key);
    if (list === undefined) byCoord.set(key, [unit]);
    else list.push(unit);
    out.units.push(unit);
    for (const k of [key, unit.hash]) {
      const waiters = waitersByKey.get(k);
      if (waiters === undefined) continue;
      waitersByKey.delete(k);
      for (const child of waiters) {
        const cw = waiting.get(child);
        if (cw === undefined || !cw.missing.delete(k)) continue;
        if (cw.missing.size === 0) ready.push(cw);
      }
    }
  }

  /** The parents named by the control hash, or undefined (and a request for them by hash) on a mismatch. */
  function parentsFromCoords(w: Waiting, out: ReconstructionOutput): (string | null)[] | undefined {
    const rounds = w.unit.unit.preUnit.controlHash.parents;
    const parents: (string | null)[] = [];
    const present: string[] = [];
    let ambiguous = false;
    for (let c = 0; c < rounds.length; c++) {
      const r = rounds[c];
      if (r === undefined) {
        parents.push(null);
        continue;
      }
      const candidates = byCoord.get(coordKey(c, r)) ?? [];
      if (candidates.length !== 1) ambiguous = true;
      const chosen = candidates[0]!.hash;
      parents.push(chosen);
      present.push(chosen);
    }
    if (!ambiguous && equalBytes(combinedHash(present), w.unit.unit.preUnit.controlHash.combinedHash)) return parents;
    out.missingParents.push(w.unit.hash);
    return undefined;
  }

  return {
    add(unit, parents) {
      const out: ReconstructionOutput = { units: [], missingCoords: [], missingParents: [] };
      if (byHash.has(unit.hash) || waiting.has(unit.hash)) return out;
      const w: Waiting = { unit, missing: new Set(), explicit: parents === undefined ? undefined : [...parents] };
      waiting.set(unit.hash, w);
      if (w.explicit !== undefined) {
        for (const p of w.explicit) {
          if (p === null || byHash.has(p)) continue;
          w.missing.add(p);
          wait(p, unit.hash);
        }
        if (w.missing.size === 0) settle([w], out);
        return out;
      }
      const rounds = unit.unit.preUnit.controlHash.parents;
      for (let c = 0; c < rounds.length; c++) {
        const r = rounds[c];
        if (r === undefined) continue;
        const key = coordKey(c, r);
        if (byCoord.has(key)) continue;
        w.missing.add(key);
        wait(key, unit.hash);
        out.missingCoords.push({ creator: c, round: r });
      }
      if (w.missing.size === 0) settle([w], out);
      return out;
    },
    addExplicitParents(child, parents) {
      const out: ReconstructionOutput = { units: [], missingCoords: [], missingParents: [] };
      const w = waiting.get(child);
      if (w === undefined || w.explicit !== undefined) return out;
      w.explicit = [...parents];
      w.missing.clear();
      for (const p of parents) {
        if (p === null || byHash.has(p)) continue;
        w.missing.add(p);
        wait(p, child);
      }
      if (w.missing.size === 0) settle([w], out);
      return out;
    },
    get: (hash) => byHash.get(hash),
    knows: (hash) => byHash.has(hash) || waiting.has(hash),
    isWaiting: (hash) => waiting.has(hash),
    waitingUnit: (hash) => waiting.get(hash)?.unit,
    at: (creator, round) => byCoord.get(coordKey(creator, round)) ?? [],
    ofCreator(creator) {
      const rounds = new Set<number>();
      for (const unit of byHash.values()) if (unit.creator === creator) rounds.add(unit.round);
      return [...rounds].sort((a, b) => a - b).map((round) => byCoord.get(coordKey(creator, round))![0]!);
    },
    dropWaiting(creator) {
      for (const [hash, w] of waiting) if (w.unit.unit.preUnit.creator === creator) waiting.delete(hash);
    },
  };
}
