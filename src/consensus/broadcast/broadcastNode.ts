/**
 * One node of the atomic broadcast (AlephBFT's design), for one session. Read top to bottom:
 * start (replay the backup, ask peers for our newest unit), intake (check the frame and its session,
 * decode, validate, detect forks, reconstruct parents), use (save, then add to the DAG, order, send),
 * creation (one unit per round after the round delay), and the periodic chores (rebroadcast, alert
 * resends). Nothing leaves the node that is not durable, and what a peer can make it spend
 * (requests, answers, signature checks, units held) is bounded per peer.
 */
import { Subject } from 'rxjs';
import { threshold } from '../../domain/federation.ts';
import { bytesToHex, equalBytes, hexToBytes } from '../../domain/hashing.ts';
import { createAlerter } from './alerts/alerter.ts';
import { createSaveQueue, readBackup } from './backup/backup.ts';
import type { BroadcastEvent, BroadcastNode, BroadcastNodeOptions, OrderedUnit, RejectionReason } from './broadcastApi.ts';
import { maxRound } from './config.ts';
import { createOwnUnits } from './creation/ownUnits.ts';
import { createStartupCheck } from './creation/startupCheck.ts';
import { createDag } from './dag/dag.ts';
import { createReconstruction, type ReconstructedUnit, type ReconstructionOutput } from './dag/reconstruction.ts';
import { unitStructureRejection, validateUnit } from './dag/validation.ts';
import { createFetchAhead } from './dissemination/fetchAhead.ts';
import { decodeWire, encodeWire, isAlertVariant, readEnvelope, WIRE_VERSION, type BroadcastMessage } from './dissemination/messages.ts';
import { createPeerBudget } from './dissemination/peerBudget.ts';
import { createRequests } from './dissemination/requests.ts';
import { createResponder } from './dissemination/responder.ts';
import { createExtender } from './extension/extender.ts';
import { seededRandom } from '../../domain/seededRandom.ts';
import { combinedHash, coordKey, encodeUnit, withHash, type HashedUnit, type SignedUnit } from './unit.ts';

export type { BroadcastEvent, BroadcastNode, BroadcastNodeOptions, BroadcastStatus, CreationState, OrderedUnit, RejectionReason } from './broadcastApi.ts';

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
  const requests = createRequests({
    clock,
    self,
    n,
    random,
    firstDelayMs: config.requestDelayMs,
    maxDelayMs: config.requestBackoffMaxMs,
    maxPerPeer: config.maxRequestsPerPeer,
    maxTotal: config.maxStandingRequests,
  });
  const verifications = createPeerBudget(n, clock, config.peerBudget);
  const responder = createResponder({ dag, reconstruction, budget: createPeerBudget(n, clock, config.peerBudget), send });
  const fetchAhead = createFetchAhead({ n, window: config.maxRoundsAhead, fetch: fetchCoord });
  const saves = createSaveQueue(options.saver, (error) => fail(error));
  const firstAtCoord = new Map<string, HashedUnit>();
  const rejected: Partial<Record<string, number>> = {};
  const timers = new Set<() => void>();
  const otherSessionNotifiedAt = new Map<number, number>();

  let orderedCount = 0;
  /** The newest round of any unit in the DAG: how far ahead a unit may be is measured from it. */
  let top = -1;
  let stopped = false;

  function send(to: number, message: BroadcastMessage): void {
    network.send(to, encodeWire(config.session, message));
  }
  const sendAll = (message: BroadcastMessage) => network.sendAll(encodeWire(config.session, message));

  const alerter = createAlerter({
    n,
    signer,
    send,
    sendAll,
    unitIsValid: (unit) => validateUnit(withHash(unit), config, signer).ok,
    unitIsWellFormed: (unit) => unitStructureRejection(unit, config) === undefined,
    maxLegitUnits: maxRound(config) + 1,
    // Only durable units leave the node, in alerts as anywhere else.
    heldUnitsOf: (forker) => reconstruction.ofCreator(forker).flatMap((u) => (dag.has(u.hash) ? [u.unit] : [])),
    onForker(forker) {
      // From now on the forker's units enter only through committed alerts.
      reconstruction.dropWaiting(forker);
      emit({ kind: 'forkDetected', forker });
    },
    onCommitted(alert) {
      emit({ kind: 'alertCommitted', forker: alert.forker, sender: alert.sender });
      for (const unit of alert.legitUnits) intake(alert.sender, unit, { trusted: true });
    },
  });

  const startupCheck = createStartupCheck({
    n,
    self,
    needed: threshold(n) - 1,
    nonce: BigInt(Math.floor(random() * 2 ** 48)),
    ask: (peer, nonce) => send(peer, { kind: 'newestUnitRequest', value: { nonce } }),
    after,
    firstDelayMs: config.requestDelayMs,
    maxDelayMs: config.requestBackoffMaxMs,
    accept: (from, unit) => intake(from, unit) !== undefined,
    onPassed: () => own.activate(),
  });

  const own = createOwnUnits({
    config,
    dag,
    clock,
    random,
    signer,
    data: options.data,
    onCreated(unit, hash, parents) {
      emit({ kind: 'unitCreated', round: unit.preUnit.round, hash });
      registerCoord({ hash, unit });
      handleReconstruction(reconstruction.add({ hash, unit }, parents), true, self);
    },
    onHalted: (reason) => emit({ kind: 'creationHalted', reason }),
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
    own.stop();
    requests.stop();
  }

  signal.addEventListener('abort', () => {
    const wasRunning = !stopped;
    stop();
    if (wasRunning) ordered$.complete();
  });

  function reject(from: number, reason: RejectionReason, detail?: string): void {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    emit({ kind: 'rejected', from, reason, ...(detail === undefined ? {} : { detail }) });
  }

  // ---- start -------------------------------------------------------------------------------

  function start(): void {
    for (const unit of readBackup(options.backup ?? [], { session: config.session, n })) {
      const hashed = withHash(unit);
      if (unit.preUnit.creator === self) own.restore(hashed.hash, unit.preUnit.round);
      registerCoord(hashed);
      // Backed-up units were saved before use: they are used again without a second save.
      handleReconstruction(reconstruction.add(hashed), false, self);
    }
    network.receive(onMessage, signal);
    startupCheck.start();
    every(config.rebroadcastMs, rebroadcast);
  }

  // ---- intake ------------------------------------------------------------------------------

  function onMessage(from: number, bytes: Uint8Array): void {
    if (stopped) return;
    // Checked before decoding more than the envelope: a peer cannot make us parse a frame larger
    // than any honest message of its kind (an alert lists the forker's legit units, so it may be larger).
    if (bytes.length > config.maxAlertBytes) return reject(from, 'oversized', `${bytes.length} bytes`);
    const envelope = readEnvelope(bytes);
    if (!envelope.ok) return reject(from, 'undecodable', `${envelope.error.kind} at byte ${envelope.error.offset}`);
    if (bytes.length > config.maxMessageBytes && !isAlertVariant(envelope.value.variant)) return reject(from, 'oversized', `${bytes.length} bytes`);
    if (envelope.value.version !== WIRE_VERSION) return reject(from, 'wrongVersion', `version ${envelope.value.version}`);
    if (envelope.value.session !== config.session) return otherSession(from, envelope.value.session);
    const decoded = decodeWire(bytes);
    if (!decoded.ok) return reject(from, 'undecodable', `${decoded.error.kind} at byte ${decoded.error.offset}`);
    const message = decoded.value.message;
    switch (message.kind) {
      case 'unit':
        intake(from, message.value);
        return;
      case 'coordRequest':
      case 'parentsRequest':
      case 'newestUnitRequest':
        return responder.answer(from, message);
      case 'parentsResponse':
        return onParents(from, bytesToHex(message.value.hash), message.value.parents);
      case 'newestUnitResponse':
        return startupCheck.onResponse(from, message.value);
      case 'alert':
      case 'alertSignature':
      case 'alertCommitted':
        return alerter.handle(from, message);
    }
  }

  function otherSession(from: number, session: bigint): void {
    reject(from, 'otherSession', `session ${session}`);
    const last = otherSessionNotifiedAt.get(from);
    if (last !== undefined && clock.now() - last < config.rebroadcastMs) return;
    otherSessionNotifiedAt.set(from, clock.now());
    options.onOtherSession?.(from, session);
  }

  function registerCoord(unit: HashedUnit): void {
    const key = coordKey(unit.unit.preUnit.creator, unit.unit.preUnit.round);
    const first = firstAtCoord.get(key);
    if (first === undefined) firstAtCoord.set(key, unit);
    else if (first.hash !== unit.hash) alerter.forkFound(first.unit, unit.unit);
  }

  /**
   * Whether a unit at this coordinate is here, reconstructed or still waiting: asking peers for it
   * would be pointless (a waiting unit asks for its own missing parents).
   */
  function coordHeld(creator: number, round: number): boolean {
    if (reconstruction.at(creator, round).length > 0) return true;
    const first = firstAtCoord.get(coordKey(creator, round));
    return first !== undefined && reconstruction.knows(first.hash);
  }

  /** Parent coordinates of `unit` that no unit fills yet and nobody is asked for: the requests it would add. */
  function newRequestsFor(unit: SignedUnit): number {
    let count = 0;
    unit.preUnit.controlHash.parents.forEach((round, creator) => {
      if (round !== undefined && !coordHeld(creator, round) && !requests.isOpen(coordRequestKey(creator, round))) count++;
    });
    return count;
  }

  /**
   * Takes in a unit from `from`. Returns it once it is valid (kept, or already known), undefined when
   * it was refused. `trusted` units come with a committed alert: threshold peers vouched for them.
   */
  function intake(from: number, unit: SignedUnit, { trusted = false } = {}): HashedUnit | undefined {
    const hashed = withHash(unit);
    if (reconstruction.knows(hashed.hash)) return hashed;
    const { creator, round, controlHash } = unit.preUnit;
    // A round-0 unit has no parents, so nothing would ever settle a wrong combined hash: it would wait forever.
    if (round === 0 && !equalBytes(controlHash.combinedHash, EMPTY_COMBINED_HASH)) return refuse(from, 'badControlHash');
    const malformed = unitStructureRejection(unit, config);
    if (malformed !== undefined) return refuse(from, malformed);
    // Beyond the window a unit is worth a verification only if it shows its creator higher than before (we may be behind).
    const farAhead = round > top + config.maxRoundsAhead;
    if (farAhead && creator !== self && round <= fetchAhead.highestSeen(creator)) return refuse(from, 'roundTooFarAhead', `round ${round}, ours ${top}`);
    if (!trusted && !verifications.take(from, 1)) return refuse(from, 'overBudget', 'verifications');
    // A unit is remembered only after it validates, so a corrupted copy cannot shadow the real one.
    const validation = validateUnit(hashed, config, signer);
    if (!validation.ok) return refuse(from, validation.reason);
    // Proof that peers saw an own unit this node does not have, however far ahead: creating would fork.
    if (creator === self && !own.isKnown(hashed.hash)) own.halt(`peer ${from} holds an own unit of round ${round} that this node does not have`);
    fetchAhead.saw(creator, round);
    if (farAhead) {
      fetchAhead.update(top);
      return refuse(from, 'roundTooFarAhead', `round ${round}, ours ${top}`);
    }
    if (!trusted && !requests.affordable(from, newRequestsFor(unit))) return refuse(from, 'overBudget', 'requests');
    registerCoord(hashed);
    if (alerter.isForker(creator) && !alerter.isLegit(hashed.hash)) return hashed;
    handleReconstruction(reconstruction.add(hashed), true, from);
    return hashed;
  }

  function refuse(from: number, reason: RejectionReason, detail?: string): undefined {
    reject(from, reason, detail);
    return undefined;
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
    handleReconstruction(reconstruction.addExplicitParents(child, byCreator), true, from);
  }

  function fetchCoord(creator: number, round: number): boolean {
    // Own units above our newest do not exist unless the backup was lost, which the startup check catches.
    if (creator === self) return true;
    if (coordHeld(creator, round) || requests.isOpen(coordRequestKey(creator, round))) return true;
    if (!requests.affordable(self, 1)) return false;
    // Speculative: the coordinate may never be filled (a crashed creator), so give up after a few tries.
    requests.want(coordRequestKey(creator, round), (p) => send(p, { kind: 'coordRequest', value: { creator, round } }), { cause: self, urgent: true, firstPeers: 1, maxAttempts: 3 });
    return true;
  }

  function handleReconstruction(out: ReconstructionOutput, save: boolean, cause: number): void {
    for (const { creator, round } of out.missingCoords) {
      if (coordHeld(creator, round)) continue;
      // Above our DAG but below what f + 1 creators have shown: this node is behind and nothing is on its way.
      const bound = fetchAhead.honestBound();
      const urgent = round > top + 1 && round <= bound;
      // Above that, nobody honest may have made the unit yet: do not ask before it can exist.
      const firstDelayMs = config.requestDelayMs + Math.max(0, round - Math.max(bound, top + 1)) * config.roundDelayMs;
      requests.want(coordRequestKey(creator, round), (p) => send(p, { kind: 'coordRequest', value: { creator, round } }), { cause, urgent, firstDelayMs });
    }
    for (const hash of out.missingParents) {
      requests.want(`p/${hash}`, (p) => send(p, { kind: 'parentsRequest', value: { hash: hexToBytes(hash) } }), { cause });
    }
    for (const unit of out.units) {
      requests.satisfied(coordRequestKey(unit.creator, unit.round));
      requests.satisfied(`p/${unit.hash}`);
      if (save) saves.enqueue(encodeUnit(unit.unit), () => use(unit));
      else use(unit);
    }
  }

  // ---- use ---------------------------------------------------------------------------------

  function use(unit: ReconstructedUnit): void {
    if (stopped) return;
    dag.add(unit);
    if (unit.round > top) {
      top = unit.round;
      fetchAhead.update(top);
    }
    // Sent only now: the save resolved, so a crash can no longer make this node forget the unit.
    if (own.createdThisRun(unit.hash)) sendAll({ kind: 'unit', value: unit.unit });
    for (const batch of extender.add(unit)) {
      for (const u of batch) {
        orderedCount++;
        ordered$.next({ creator: u.creator, round: u.round, hash: u.hash, data: u.unit.preUnit.data });
      }
    }
    own.createIfReady();
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
      round: own.round,
      creation: own.state,
      dagSize: dag.size,
      ordered: orderedCount,
      forkers: alerter.forkers(),
      alertsCommitted: alerter.committed,
      alerter: alerter.size(),
      pendingRequests: requests.pending,
      requestsSent: requests.sent,
      answersRefused: responder.refused,
      rejected: { ...rejected },
    }),
  };
}

const EMPTY_COMBINED_HASH = combinedHash([]);
const coordRequestKey = (creator: number, round: number) => `c/${creator}/${round}`;
