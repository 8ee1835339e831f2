import { threshold } from '../../../domain/federation.ts';

/**
 * Head election for one round by voting, as in AlephBFT's extender. Every unit of a later round
 * votes on the current candidate; the votes are a pure function of the unit's ancestry, so every
 * honest node that decides, decides the same head whatever order the units arrived in.
 */

/** What the election needs to know about a unit. Units are added only after all their parents. */
export interface VotingUnit {
  hash: string;
  creator: number;
  round: number;
  /** Parent hash per creator (null where the unit has no parent of that creator). */
  parents: readonly (string | null)[];
  /** Round of each parent per creator (null where absent); parents at round - 1 are the direct ones. */
  parentRounds: readonly (number | null)[];
}

export interface UnitsView {
  get(hash: string): VotingUnit | undefined;
  inRound(round: number): readonly VotingUnit[];
  highestRound(): number;
}

/**
 * The default vote of relative round `rr` (>= 2): true, false at 3, true at 4, then alternating.
 * A fixed schedule is what every node agrees on without communication.
 */
export function commonVote(relativeRound: number): boolean {
  if (relativeRound === 3) return false;
  if (relativeRound <= 4) return true;
  return relativeRound % 2 === 1;
}


type CandidateOutcome = 'eliminated' | 'elected' | 'pending';

interface CandidateElection {
  readonly round: number;
  readonly creator: number;
  readonly hash: string;
  readonly votes: Map<string, boolean>;
}

function voteFor(election: CandidateElection, voter: VotingUnit, n: number): CandidateOutcome {
  if (election.votes.has(voter.hash) || voter.round <= election.round) return 'pending';
  const relativeRound = voter.round - election.round;
  let vote: boolean;
  if (relativeRound === 1) {
    vote = voter.parents[election.creator] === election.hash;
  } else {
    let votesFor = 0;
    let votesAgainst = 0;
    for (let c = 0; c < voter.parents.length; c++) {
      const parent = voter.parents[c];
      if (parent === null || parent === undefined || voter.parentRounds[c] !== voter.round - 1) continue;
      const parentVote = election.votes.get(parent);
      // Units are added parents first, so a direct parent's vote is always known; missing means a bug.
      if (parentVote === undefined) throw new ElectionInvariantError(`no vote for direct parent ${parent}`);
      if (parentVote) votesFor++;
      else votesAgainst++;
    }
    const common = commonVote(relativeRound);
    const needed = threshold(n);
    // Deciding only from relative round 3 on means the earliest head is decided by a unit of round + 4.
    if (relativeRound >= 3) {
      if (common && votesFor >= needed) return 'elected';
      if (!common && votesAgainst >= needed) return 'eliminated';
    }
    vote = votesFor === 0 ? false : votesAgainst === 0 ? true : common;
  }
  election.votes.set(voter.hash, vote);
  return 'pending';
}

function electCandidate(candidate: VotingUnit, units: UnitsView, n: number): { outcome: CandidateOutcome; election: CandidateElection } {
  const election: CandidateElection = { round: candidate.round, creator: candidate.creator, hash: candidate.hash, votes: new Map() };
  for (let round = candidate.round + 1; round <= units.highestRound(); round++) {
    for (const voter of units.inRound(round)) {
      const outcome = voteFor(election, voter, n);
      if (outcome !== 'pending') return { outcome, election };
    }
  }
  return { outcome: 'pending', election };
}

export type ElectionResult = { kind: 'pending'; election: RoundElection } | { kind: 'elected'; head: string };

/** The election of one round's head: candidates in ascending hash order, tried one by one. */
export interface RoundElection {
  readonly round: number;
  addVoter(voter: VotingUnit): ElectionResult;
}

export class ElectionInvariantError extends Error {
  override name = 'ElectionInvariantError';
}

function resolve(round: number, remaining: string[], current: { outcome: CandidateOutcome; election: CandidateElection }, units: UnitsView, n: number): ElectionResult {
  for (;;) {
    if (current.outcome === 'elected') return { kind: 'elected', head: current.election.hash };
    if (current.outcome === 'pending') {
      const election = current.election;
      return {
        kind: 'pending',
        election: {
          round,
          addVoter: (voter) => resolve(round, remaining, { outcome: voteFor(election, voter, n), election }, units, n),
        },
      };
    }
    const next = remaining.shift();
    // The spreading property of the DAG guarantees a unit of `round` below every unit of round + 3.
    if (next === undefined) throw new ElectionInvariantError(`every candidate of round ${round} was eliminated`);
    const candidate = units.get(next);
    if (candidate === undefined) throw new ElectionInvariantError(`candidate ${next} vanished`);
    current = electCandidate(candidate, units, n);
  }
}

/**
 * Starts the election of `round`, or returns undefined while no unit of round + 3 exists: before
 * that we might not yet know the unit that will win.
 */
export function startRoundElection(round: number, units: UnitsView, n: number): ElectionResult | undefined {
  if (units.highestRound() < round + 3) return undefined;
  const candidates = units
    .inRound(round)
    .map((u) => u.hash)
    .sort();
  const first = candidates.shift();
  if (first === undefined) throw new ElectionInvariantError(`no unit in round ${round} below round ${units.highestRound()}`);
  const candidate = units.get(first);
  if (candidate === undefined) throw new ElectionInvariantError(`candidate ${first} vanished`);
  return resolve(round, candidates, electCandidate(candidate, units, n), units, n);
}
