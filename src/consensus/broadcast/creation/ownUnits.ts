import { threshold } from '../../../domain/federation.ts';
import { hexToBytes } from '../../../domain/hashing.ts';
import type { Clock } from '../clock.ts';
import { jitteredRoundDelay, maxRound, type BroadcastConfig } from '../config.ts';
import type { Dag } from '../dag/dag.ts';
import type { UnitSigner } from '../signer.ts';
import { withHash, type SignedUnit } from '../unit.ts';
import { choosePreUnit, dagIsAhead } from './creator.ts';

export type CreationState = 'waitingForPeers' | 'active' | 'halted' | 'finished';

/**
 * This node's own units: one per round, rounds 0 .. maxRound, each once the DAG holds our unit and
 * threshold units of the round below and the jittered round delay has passed (skipped when the DAG
 * is already ahead). Remembers which own units it knows, so that any other own unit a peer shows
 * proves a lost backup and halts creation for good: creating again would fork this node.
 */
export interface OwnUnits {
  readonly state: CreationState;
  /** The round of the newest own unit (-1 before the first). */
  readonly round: number;
  /** An own unit replayed from the backup. */
  restore(hash: string, round: number): void;
  /** The start-up check passed: creation may begin. */
  activate(): void;
  /** Creates the next unit if the DAG and the delay allow; call whenever the DAG grows. */
  createIfReady(): void;
  isKnown(hash: string): boolean;
  createdThisRun(hash: string): boolean;
  halt(reason: string): void;
  stop(): void;
}

export function createOwnUnits(options: {
  config: BroadcastConfig;
  dag: Dag;
  clock: Clock;
  random: () => number;
  signer: UnitSigner;
  data: (round: number) => Uint8Array;
  /** A new own unit, signed, with the parents this node chose: it still has to be saved and used. */
  onCreated: (unit: SignedUnit, hash: string, parents: (string | null)[]) => void;
  onHalted: (reason: string) => void;
}): OwnUnits {
  const { config, dag, clock, signer } = options;
  const { n, peer: self } = config;
  const known = new Set<string>();
  const thisRun = new Set<string>();
  let state: CreationState = 'waitingForPeers';
  let nextRound = 0;
  let lastCreatedAt = clock.now();
  let timer: (() => void) | undefined;
  let stopped = false;
  /** The jittered delay of the round being waited for, drawn once so re-checks do not redraw it. */
  let delay: { round: number; ms: number } | undefined;

  function delayOf(round: number): number {
    if (delay?.round !== round) delay = { round, ms: jitteredRoundDelay(config, round, options.random) };
    return delay.ms;
  }

  function waitUntil(due: number): void {
    if (timer !== undefined) return;
    timer = clock.setTimer(due - clock.now(), () => {
      timer = undefined;
      if (!stopped) createIfReady();
    });
  }

  function createIfReady(): void {
    if (stopped || state !== 'active') return;
    const round = nextRound;
    if (round > maxRound(config)) {
      state = 'finished';
      return;
    }
    if (round > 0 && (dag.at(self, round - 1) === undefined || dag.creatorsInRound(round - 1) < threshold(n))) return;
    if (round > 0 && !dagIsAhead(dag, n, round)) {
      const due = lastCreatedAt + delayOf(round);
      if (clock.now() < due) return waitUntil(due);
    }
    const chosen = choosePreUnit(dag, { n, creator: self, round, session: config.session, data: () => options.data(round) });
    if (chosen === undefined) return;
    const { preUnit, parents } = chosen;
    // Advance before anything else can re-enter: never two units in one round.
    nextRound = round + 1;
    lastCreatedAt = clock.now();
    const { hash } = withHash({ preUnit, signature: new Uint8Array(64) });
    known.add(hash);
    thisRun.add(hash);
    options.onCreated({ preUnit, signature: signer.sign(hexToBytes(hash)) }, hash, parents);
  }

  return {
    get state() {
      return state;
    },
    get round() {
      return nextRound - 1;
    },
    restore(hash, round) {
      known.add(hash);
      nextRound = Math.max(nextRound, round + 1);
      lastCreatedAt = clock.now();
    },
    activate() {
      if (state !== 'waitingForPeers') return;
      state = 'active';
      createIfReady();
    },
    createIfReady,
    isKnown: (hash) => known.has(hash),
    createdThisRun: (hash) => thisRun.has(hash),
    halt(reason) {
      if (state === 'halted') return;
      state = 'halted';
      timer?.();
      timer = undefined;
      options.onHalted(reason);
    },
    stop() {
      stopped = true;
      timer?.();
    },
  };
}
