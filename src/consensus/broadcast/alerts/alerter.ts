import { threshold } from '../../../domain/federation.ts';
import { bytesToHex, equalBytes } from '../../../domain/hashing.ts';
import { withHash, type SignedUnit } from '../unit.ts';
import { alertHash, type Alert } from './alert.ts';
import { membersRejection, structureRejection } from './alertRules.ts';
import type { BroadcastMessage } from '../dissemination/messages.ts';
import type { UnitSigner } from '../signer.ts';

type AlertMessage = Extract<BroadcastMessage, { kind: 'alert' | 'alertSignature' | 'alertCommitted' }>;

interface AlertState {
  alert: Alert;
  hash: Uint8Array;
  /** Verified signatures only, from members only: at most n. */
  signatures: Map<number, Uint8Array>;
  committed: boolean;
  /** Periods left during which we keep resending (lossy links); the alert must become reliable. */
  resends: number;
}

export interface AlerterOptions {
  n: number;
  signer: UnitSigner;
  send(to: number, message: BroadcastMessage): void;
  sendAll(message: BroadcastMessage): void;
  /** Full validity of a unit on its own (structure, session, signature): checked for the two proof units. */
  unitIsValid(unit: SignedUnit): boolean;
  /** The unit rules that need no signature, checked for every unit of an alert before any verification. */
  unitIsWellFormed(unit: SignedUnit): boolean;
  /** Largest number of legit units an alert may carry (one per round: the rounds of a session). */
  maxLegitUnits: number;
  /** The forker's units this node already holds, which it may have built on: at most one per round. */
  heldUnitsOf(forker: number): SignedUnit[];
  /** Called once per forker, when this node learns of the fork. */
  onForker(forker: number): void;
  /**
   * Called when an alert is committed: its legit units may now enter the DAG. Their signatures are
   * checked there, when each is used, as for any unit.
   */
  onCommitted(alert: Alert): void;
}

/** What the alerter holds: every figure is bounded by the federation size, whatever peers send. */
export interface AlerterSize {
  /** Alerts held (at most one per (sender, forker) pair). */
  alerts: number;
  /** Verified alert signatures held (at most n per alert). */
  signatures: number;
  /** Peers whose alert traffic is ignored: they sent a signature that did not verify. */
  distrusted: number[];
}

/**
 * Fork alerts made reliable: the alert is sent to all, every peer that finds it valid signs its hash,
 * and once `threshold` signatures are collected it is committed and the signatures travel with it,
 * so every honest node commits the same alerts. Only the first alert of a sender about a forker counts,
 * so a forker colluding with a sender cannot push an unbounded number of its units through alerts.
 *
 * What a peer can make this node hold or verify is bounded: nothing is stored for an alert hash
 * before its alert is known and valid, signatures are verified before they are stored, the cheap
 * rules run before any verification, and a peer that sends one signature that fails verification
 * (an honest peer never does: links are authenticated) is not listened to again.
 */
export interface Alerter {
  forkFound(first: SignedUnit, second: SignedUnit): void;
  isForker(creator: number): boolean;
  isLegit(hash: string): boolean;
  handle(from: number, message: AlertMessage): void;
  /** Resends what is not final yet; called periodically by the node. */
  tick(): void;
  forkers(): number[];
  readonly committed: number;
  size(): AlerterSize;
}

const RESENDS_AFTER_COMMIT = 3;

export function createAlerter(options: AlerterOptions): Alerter {
  const { n, signer } = options;
  const self = signer.peer;
  const limits = { n, maxLegitUnits: options.maxLegitUnits, unitIsWellFormed: options.unitIsWellFormed };
  const forkers = new Set<number>();
  const legit = new Set<string>();
  const alerts = new Map<string, AlertState>();
  /** "sender/forker" -> the hash of the one alert of that pair that counts. */
  const pairs = new Map<string, string>();
  const distrusted = new Set<number>();
  let committedCount = 0;

  const pairOf = (alert: Pick<Alert, 'sender' | 'forker'>) => `${alert.sender}/${alert.forker}`;
  const proofIsSigned = (alert: Alert) => alert.proof.every((unit) => options.unitIsValid(unit));

  function markForker(forker: number, proof: readonly SignedUnit[]): void {
    if (forkers.has(forker)) return;
    forkers.add(forker);
    options.onForker(forker);
    accept({ sender: self, forker, proof, legitUnits: options.heldUnitsOf(forker) });
  }

  /** Registers a valid alert as the one of its pair, signs it, and sends our signature (and the alert, if it is ours). */
  function accept(alert: Alert): void {
    const hash = alertHash(alert);
    const key = bytesToHex(hash);
    pairs.set(pairOf(alert), key);
    const state: AlertState = { alert, hash, signatures: new Map([[self, signer.sign(hash)]]), committed: false, resends: Number.POSITIVE_INFINITY };
    alerts.set(key, state);
    if (alert.sender === self) options.sendAll({ kind: 'alert', value: alert });
    options.sendAll({ kind: 'alertSignature', value: { alertHash: hash, signature: state.signatures.get(self)! } });
    markForker(alert.forker, alert.proof);
    maybeCommit(state);
  }

  function maybeCommit(state: AlertState): void {
    if (state.committed || state.signatures.size < threshold(n)) return;
    state.committed = true;
    state.resends = RESENDS_AFTER_COMMIT;
    committedCount++;
    for (const unit of state.alert.legitUnits) legit.add(withHash(unit).hash);
    options.sendAll({ kind: 'alertCommitted', value: { alert: state.alert, signatures: state.signatures } });
    options.onCommitted(state.alert);
  }

  function onAlert(from: number, alert: Alert): void {
    // Links are authenticated: a peer can only send alerts in its own name.
    if (alert.sender !== from || membersRejection(alert, n) !== undefined) return;
    // One alert per (sender, forker): a repeat, or a second alert, costs no verification.
    if (pairs.has(pairOf(alert)) || structureRejection(alert, limits) !== undefined) return;
    if (!proofIsSigned(alert)) return distrust(from);
    accept(alert);
  }

  function onSignature(from: number, hash: Uint8Array, signature: Uint8Array): void {
    // Nothing is kept for an alert we do not hold: its signers resend until they see it committed.
    const state = alerts.get(bytesToHex(hash));
    if (state === undefined || state.committed || state.signatures.has(from)) return;
    if (!signer.verify(from, hash, signature)) return distrust(from);
    state.signatures.set(from, signature);
    maybeCommit(state);
  }

  function onCommittedAlert(from: number, alert: Alert, signatures: ReadonlyMap<number, Uint8Array>): void {
    if (membersRejection(alert, n) !== undefined) return;
    const pair = pairOf(alert);
    const counted = pairs.get(pair);
    // Threshold signers include an honest one, and it signs one alert per pair: one commit per pair.
    if (counted !== undefined && alerts.get(counted)?.committed === true) return;
    if (structureRejection(alert, limits) !== undefined) return;
    const members = [...signatures].filter(([peer]) => peer < n);
    if (members.length < threshold(n)) return;
    const hash = alertHash(alert);
    const key = bytesToHex(hash);
    const known = alerts.get(key);
    if (known === undefined && !proofIsSigned(alert)) return distrust(from);
    const verified = new Map<number, Uint8Array>();
    for (const [peer, signature] of members) {
      if (verified.size >= threshold(n)) break;
      const held = known?.signatures.get(peer);
      if (held !== undefined && equalBytes(held, signature)) verified.set(peer, signature);
      else if (signer.verify(peer, hash, signature)) verified.set(peer, signature);
      // An honest node relays only signatures it verified itself.
      else return distrust(from);
    }
    let state = known;
    if (state === undefined) {
      // This commit replaces whatever other alert of the pair we had (its sender equivocated).
      if (counted !== undefined) alerts.delete(counted);
      state = { alert, hash, signatures: new Map(), committed: false, resends: Number.POSITIVE_INFINITY };
      alerts.set(key, state);
      pairs.set(pair, key);
    }
    for (const [peer, signature] of verified) state.signatures.set(peer, signature);
    markForker(alert.forker, alert.proof);
    maybeCommit(state);
  }

  function distrust(peer: number): void {
    distrusted.add(peer);
  }

  return {
    get committed() {
      return committedCount;
    },
    forkers: () => [...forkers].sort((a, b) => a - b),
    isForker: (creator) => forkers.has(creator),
    isLegit: (hash) => legit.has(hash),
    forkFound(first, second) {
      markForker(first.preUnit.creator, [first, second]);
    },
    handle(from, message) {
      if (from < 0 || from >= n || from === self || distrusted.has(from)) return;
      switch (message.kind) {
        case 'alert':
          return onAlert(from, message.value);
        case 'alertSignature':
          return onSignature(from, message.value.alertHash, message.value.signature);
        case 'alertCommitted':
          return onCommittedAlert(from, message.value.alert, message.value.signatures);
      }
    },
    tick() {
      for (const state of alerts.values()) {
        if (state.resends <= 0) continue;
        state.resends--;
        if (state.committed) {
          options.sendAll({ kind: 'alertCommitted', value: { alert: state.alert, signatures: state.signatures } });
          continue;
        }
        if (state.alert.sender === self) options.sendAll({ kind: 'alert', value: state.alert });
        const own = state.signatures.get(self);
        if (own !== undefined) options.sendAll({ kind: 'alertSignature', value: { alertHash: state.hash, signature: own } });
      }
    },
    size() {
      let signatures = 0;
      for (const state of alerts.values()) signatures += state.signatures.size;
      return { alerts: alerts.size, signatures, distrusted: [...distrusted].sort((a, b) => a - b) };
    },
  };
}
