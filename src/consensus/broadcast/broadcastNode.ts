/**
 * One node of the atomic broadcast (AlephBFT's design), for one session. Read top to bottom:
 * start (replay the backup, ask peers for our newest unit), intake (decode, validate, detect forks,
 * reconstruct parents), use (save, then add to the DAG, order, send), creation (one unit per round
 * after the round delay), and the periodic chores (rebroadcast, alert resends).
 */
import { Subject, type Observable } from 'rxjs';
import { threshold } from '../../domain/federation.ts';
import { bytesToHex, equalBytes, hexToBytes } from '../../domain/hashing.ts';
import { createAlerter } from './alerts/alerter.ts';
import { createSaveQueue, readBackup, type UnitSaver } from './backup/backup.ts';
import type { Clock } from './clock.ts';
import { maxRound, roundDelay, type BroadcastConfig } from './config.ts';
import { choosePreUnit, dagIsAhead } from './creation/creator.ts';
import { createDag } from './dag/dag.ts';
import { createReconstruction, type ReconstructedUnit, type ReconstructionOutput } from './dag/reconstruction.ts';
import { validateUnit, type UnitRejection } from './dag/validation.ts';
import { decodeMessage, encodeMessage, type BroadcastMessage } from './dissemination/messages.ts';
import { createRequests } from './dissemination/requests.ts';
import { createExtender } from './extension/extender.ts';
import { seededRandom } from '../../domain/seededRandom.ts';
import type { Network } from './network/network.ts';
import type { UnitSigner } from './signer.ts';
import { combinedHash, coordKey, encodeUnit, withHash, type HashedUnit, type SignedUnit } from './unit.ts';

/** A unit in the agreed total order. */
export interface OrderedUnit {
  creator: number;
  round: number;
  /** Unit hash, lowercase hex. */
  hash: string;
  data: Uint8Array;
}

export type BroadcastEvent =
  | { kind: 'rejected'; from: number; reason: UnitRejection | 'undecodable' | 'badParents'; detail?: string }
  | { kind: 'unitCreated'; round: number; hash: string }
  | { kind: 'forkDetected'; forker: number }
  | { kind: 'alertCommitted'; forker: number; sender: number }
  | { kind: 'creationHalted'; reason: string }
  | { kind: 'failed'; error: unknown };

export type CreationState = 'waitingForPeers' | 'active' | 'halted' | 'finished';

export interface BroadcastStatus {
  /** The round of this node's newest own unit (-1 before the first). */
  round: number;
  creation: CreationState;
  dagSize: number;
  ordered: number;
  forkers: number[];
  alertsCommitted: number;
  pendingRequests: number;
  rejected: Partial<Record<string, number>>;
}

export interface BroadcastNodeOptions {
  config: BroadcastConfig;
  signer: UnitSigner;
  network: Network;
  clock: Clock;
  /** Every unit is saved through it before it is used or sent. */
  saver: UnitSaver;
  /** Units saved by an earlier run of this session (the `dag-<i>` stream), in saved order. */
  backup?: readonly Uint8Array[];
  /** Called once per own unit, when it is created: the unit's data. */
  data: (round: number) => Uint8Array;
  /** Stops every timer and listener of the node; ordered$ completes. */
  signal: AbortSignal;
  /** Seeds the choice of peers for requests (deterministic simulations). */
  seed?: number;
  onEvent?: (event: BroadcastEvent) => void;
}

export interface BroadcastNode {
  /** Ordered units, in the total order every honest node outputs. Errors if the backup fails. */
  readonly ordered$: Observable<OrderedUnit>;
  status(): BroadcastStatus;
}

export function startBroadcastNode(options: BroadcastNodeOptions): BroadcastNode {
  const { config, signer, network, clock, signal } = options;
  const { n, peer: self } = config;
  const ordered$ = new Subject<OrderedUnit>();
  const emit = (event: BroadcastEvent) => options.onEvent?.(event);
  // Production nodes draw a fresh seed, so a restarted node's request nonce never repeats an old one.
  const random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));

  const reconstruction = createReconstruction();
  const dag = createDag(n);
  const extender = createExtender<ReconstructedUnit>(n);
  const requests = createRequests({ clock, self, n, random, firstDelayMs: config.requestDelayMs, maxDelayMs: config.requestBackoffMaxMs });
  const saves = createSaveQueue(options.saver, (error) => fail(error));
  const firstAtCoord = new Map<string, HashedUnit>();
  /** Own units created by this run or restored from the backup; any other own unit means creation must stop. */
  const ownHashes = new Set<string>();
  const createdThisRun = new Set<string>();
  const rejected: Partial<Record<string, number>> = {};
  const timers = new Set<() => void>();

  let creation: CreationState = 'waitingForPeers';
  let nextRound = 0;
  let lastCreatedAt = 0;
  let creationTimer: (() => void) | undefined;
  let orderedCount = 0;
  let stopped = false;

  const send = (to: number, message: BroadcastMessage) => network.send(to, encodeMessage(message));
  const sendAll = (message: BroadcastMessage) => network.sendAll(encodeMessage(message));

  const alerter = createAlerter({
    n,
    signer,
    send,
    sendAll,
    unitIsValid: (unit) => validateUnit(withHash(unit), config, signer).ok,
    heldUnitsOf: (forker) => reconstruction.ofCreator(forker).map((u) => u.unit),
    onForker(forker) {
      // From now on the forker's units enter only through committed alerts.
      reconstruction.dropWaiting(forker);
      emit({ kind: 'forkDetected', forker });
    },
    onCommitted(alert) {
      emit({ kind: 'alertCommitted', forker: alert.forker, sender: alert.sender });
      for (const unit of alert.legitUnits) intake(alert.sender, unit);
    },
  });

  function after(ms: number, task: () => void): void {
    if (stopped) return;
    const cancel = clock.setTimer(ms, () => {
      timers.delete(cancel);
      if (!stopped) task();
    });
    timers.add(cancel);
  }

  function every(ms: number, task: () => void): void {
    after(ms, () => {
      task();
      every(ms, task);
    });
  }

  function fail(error: unknown): void {
    emit({ kind: 'failed', error });
    stop();
    ordered$.error(error);
  }

  function stop(): void {
    if (stopped) return;
    stopped = true;
    for (const cancel of timers) cancel();
    timers.clear();
    creationTimer?.();
    requests.stop();
  }

  signal.addEventListener('abort', () => {
    const wasRunning = !stopped;
    stop();
    if (wasRunning) ordered$.complete();
  });

  function reject(from: number, reason: UnitRejection | 'undecodable' | 'badParents', detail?: string): void {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    emit({ kind: 'rejected', from, reason, ...(detail === undefined ? {} : { detail }) });
  }

  // ---- start -------------------------------------------------------------------------------

  function start(): void {
    for (const unit of readBackup(options.backup ?? [])) {
      const hashed = withHash(unit);
      if (unit.preUnit.creator === self) {
        ownHashes.add(hashed.hash);
        nextRound = Math.max(nextRound, unit.preUnit.round + 1);
      }
      registerCoord(hashed);
      // Backed-up units were saved before use: they are used again without a second save.
      handleReconstruction(reconstruction.add(hashed), false);
    }
    lastCreatedAt = clock.now();
    network.receive(onMessage, signal);
    askForNewestUnit();
    every(config.rebroadcastMs, rebroadcast);
  }

  /**
   * Before creating anything, ask peers for our newest unit: if our backup was lost or is stale,
   * creating again would fork ourselves. Creation starts once threshold - 1 peers answered.
   */
  const nonce = BigInt(Math.floor(random() * 2 ** 48));
  const answered = new Set<number>();
  function askForNewestUnit(): void {
    let delay = config.requestDelayMs;
    const ask = () => {
      if (creation !== 'waitingForPeers') return;
      for (let p = 0; p < n; p++) if (p !== self && !answered.has(p)) send(p, { kind: 'newestUnitRequest', value: { nonce } });
      after(delay, ask);
      delay = Math.min(2 * delay, config.requestBackoffMaxMs);
    };
    ask();
  }

  function onNewestUnitResponse(from: number, value: { nonce: bigint; unit: SignedUnit | undefined }): void {
    if (value.nonce !== nonce || answered.has(from)) return;
    answered.add(from);
    if (value.unit !== undefined) intake(from, value.unit);
    if (creation === 'waitingForPeers' && answered.size >= threshold(n) - 1) {
      creation = 'active';
      createIfReady();
    }
  }

  function haltCreation(reason: string): void {
    if (creation === 'halted') return;
    creation = 'halted';
    creationTimer?.();
    emit({ kind: 'creationHalted', reason });
  }

  // ---- intake ------------------------------------------------------------------------------

  function onMessage(from: number, bytes: Uint8Array): void {
    if (stopped) return;
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) return reject(from, 'undecodable', `${decoded.error.kind} at byte ${decoded.error.offset}`);
    const message = decoded.value;
    switch (message.kind) {
      case 'unit':
        intake(from, message.value);
        return;
      case 'coordRequest': {
        for (const unit of reconstruction.at(message.value.creator, message.value.round)) send(from, { kind: 'unit', value: unit.unit });
        return;
      }
      case 'parentsRequest': {
        const unit = reconstruction.get(bytesToHex(message.value.hash));
        if (unit === undefined) return;
        const parents = unit.parents.flatMap((p) => (p === null ? [] : [reconstruction.get(p)!.unit]));
        return send(from, { kind: 'parentsResponse', value: { hash: message.value.hash, parents } });
      }
      case 'parentsResponse':
        return onParents(from, bytesToHex(message.value.hash), message.value.parents);
      case 'newestUnitRequest': {
        const newest = dag.at(from, dag.newestRound(from));
        return send(from, { kind: 'newestUnitResponse', value: { nonce: message.value.nonce, unit: newest?.unit } });
      }
      case 'newestUnitResponse':
        return onNewestUnitResponse(from, message.value);
      case 'alert':
      case 'alertSignature':
      case 'alertCommitted':
        return alerter.handle(from, message);
    }
  }

  function registerCoord(unit: HashedUnit): void {
    const key = coordKey(unit.unit.preUnit.creator, unit.unit.preUnit.round);
    const first = firstAtCoord.get(key);
    if (first === undefined) firstAtCoord.set(key, unit);
    else if (first.hash !== unit.hash) alerter.forkFound(first.unit, unit.unit);
  }

  function intake(from: number, unit: SignedUnit): HashedUnit | undefined {
    const hashed = withHash(unit);
    if (reconstruction.knows(hashed.hash)) return hashed;
    // A unit is remembered only after it validates, so a corrupted copy cannot shadow the real one.
    const validation = validateUnit(hashed, config, signer);
    if (!validation.ok) {
      reject(from, validation.reason);
      return undefined;
    }
    const creator = unit.preUnit.creator;
    if (creator === self && !ownHashes.has(hashed.hash)) haltCreation(`peer ${from} holds an own unit of round ${unit.preUnit.round} that this node does not have`);
    registerCoord(hashed);
    if (alerter.isForker(creator) && !alerter.isLegit(hashed.hash)) return hashed;
    handleReconstruction(reconstruction.add(hashed), true);
    return hashed;
  }

  function onParents(from: number, child: string, parents: readonly SignedUnit[]): void {
    if (!reconstruction.isWaiting(child)) return;
    const waiting = reconstruction.waitingUnit(child);
    if (waiting === undefined) return;
    const rounds = waiting.unit.preUnit.controlHash.parents;
    const byCreator: (string | null)[] = rounds.map(() => null);
    const hashed = parents.map(withHash);
    for (const parent of hashed) {
      const { creator, round } = parent.unit.preUnit;
      if (creator >= n || rounds[creator] !== round || byCreator[creator] !== null) return reject(from, 'badParents');
      byCreator[creator] = parent.hash;
    }
    if (rounds.some((r, c) => (r === undefined) !== (byCreator[c] === null))) return reject(from, 'badParents');
    const inOrder = byCreator.filter((h): h is string => h !== null);
    if (!equalBytes(combinedHash(inOrder), waiting.unit.preUnit.controlHash.combinedHash)) return reject(from, 'badParents');
    for (const parent of hashed) if (intake(from, parent.unit) === undefined) return;
    handleReconstruction(reconstruction.addExplicitParents(child, byCreator), true);
  }

  function handleReconstruction(out: ReconstructionOutput, save: boolean): void {
    for (const { creator, round } of out.missingCoords) {
      requests.want(`c/${creator}/${round}`, (p) => send(p, { kind: 'coordRequest', value: { creator, round } }));
    }
    for (const hash of out.missingParents) {
      requests.want(`p/${hash}`, (p) => send(p, { kind: 'parentsRequest', value: { hash: hexToBytes(hash) } }));
    }
    for (const unit of out.units) {
      requests.satisfied(`c/${unit.creator}/${unit.round}`);
      requests.satisfied(`p/${unit.hash}`);
      if (save) saves.enqueue(encodeUnit(unit.unit), () => use(unit));
      else use(unit);
    }
  }

  // ---- use ---------------------------------------------------------------------------------

  function use(unit: ReconstructedUnit): void {
    if (stopped) return;
    dag.add(unit);
    if (createdThisRun.has(unit.hash)) sendAll({ kind: 'unit', value: unit.unit });
    for (const batch of extender.add(unit)) {
      for (const u of batch) {
        orderedCount++;
        ordered$.next({ creator: u.creator, round: u.round, hash: u.hash, data: u.unit.preUnit.data });
      }
    }
    createIfReady();
  }

  // ---- creation ----------------------------------------------------------------------------

  function createIfReady(): void {
    if (stopped || creation !== 'active') return;
    const round = nextRound;
    if (round > maxRound(config)) {
      creation = 'finished';
      return;
    }
    if (round > 0 && (dag.at(self, round - 1) === undefined || dag.creatorsInRound(round - 1) < threshold(n))) return;
    const due = lastCreatedAt + roundDelay(config, round);
    if (round > 0 && clock.now() < due && !dagIsAhead(dag, n, round)) {
      if (creationTimer === undefined) {
        const cancel = clock.setTimer(due - clock.now(), () => {
          timers.delete(cancel);
          creationTimer = undefined;
          createIfReady();
        });
        timers.add(cancel);
        creationTimer = cancel;
      }
      return;
    }
    const chosen = choosePreUnit(dag, { n, creator: self, round, session: config.session, data: () => options.data(round) });
    if (chosen === undefined) return;
    const { preUnit, parents } = chosen;
    // Advance before anything else can re-enter: never two units in one round.
    nextRound = round + 1;
    lastCreatedAt = clock.now();
    const hashed = withHash({ preUnit, signature: new Uint8Array(64) });
    const unit: SignedUnit = { preUnit, signature: signer.sign(hexToBytes(hashed.hash)) };
    ownHashes.add(hashed.hash);
    createdThisRun.add(hashed.hash);
    emit({ kind: 'unitCreated', round, hash: hashed.hash });
    registerCoord({ hash: hashed.hash, unit });
    handleReconstruction(reconstruction.add({ hash: hashed.hash, unit }, parents), true);
  }

  // ---- chores ------------------------------------------------------------------------------

  function rebroadcast(): void {
    const newest = dag.at(self, dag.newestRound(self));
    if (newest !== undefined) sendAll({ kind: 'unit', value: newest.unit });
    alerter.tick();
  }

  // Start on the next tick, so subscribers of ordered$ see the units replayed from the backup.
  after(0, () => {
    try {
      start();
    } catch (error) {
      fail(error);
    }
  });

  return {
    ordered$: ordered$.asObservable(),
    status: () => ({
      round: nextRound - 1,
      creation,
      dagSize: dag.size,
      ordered: orderedCount,
      forkers: alerter.forkers(),
      alertsCommitted: alerter.committed,
      pendingRequests: requests.pending,
      rejected: { ...rejected },
    }),
  };
}
