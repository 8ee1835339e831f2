import { threshold } from '../../../domain/federation.ts';
import { bytesToHex } from '../../../domain/hashing.ts';
import { withHash, type SignedUnit } from '../unit.ts';
import { alertHash, type Alert } from './alert.ts';
import type { BroadcastMessage } from '../dissemination/messages.ts';
import type { UnitSigner } from '../signer.ts';

type AlertMessage = Extract<BroadcastMessage, { kind: 'alert' | 'alertSignature' | 'alertCommitted' }>;

interface AlertState {
  alert: Alert | undefined;
  hash: Uint8Array;
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
  /** Full validity of a unit on its own (structure, session, signature). */
  unitIsValid(unit: SignedUnit): boolean;
  /** The forker's units this node already holds, which it may have built on. */
  heldUnitsOf(forker: number): SignedUnit[];
  /** Called once per forker, when this node learns of the fork. */
  onForker(forker: number): void;
  /** Called when an alert is committed: its legit units may now enter the DAG. */
  onCommitted(alert: Alert): void;
}

/**
 * Fork alerts made reliable: the alert is sent to all, every peer that finds it valid signs its hash,
 * and once `threshold` signatures are collected it is committed and the signatures travel with it,
 * so every honest node commits the same alerts. Only the first alert of a sender about a forker counts,
 * so a forker colluding with a sender cannot push an unbounded number of its units through alerts.
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
}

const RESENDS_AFTER_COMMIT = 3;

export function createAlerter(options: AlerterOptions): Alerter {
  const { n, signer } = options;
  const self = signer.peer;
  const forkers = new Set<number>();
  const legit = new Set<string>();
  const alerts = new Map<string, AlertState>();
  const senderForker = new Map<string, string>();
  let committedCount = 0;

  function stateFor(hash: Uint8Array): AlertState {
    const key = bytesToHex(hash);
    let state = alerts.get(key);
    if (state === undefined) alerts.set(key, (state = { alert: undefined, hash, signatures: new Map(), committed: false, resends: 0 }));
    return state;
  }

  function alertIsValid(alert: Alert): boolean {
    if (alert.sender >= n || alert.forker >= n || alert.proof.length !== 2) return false;
    const [a, b] = alert.proof as [SignedUnit, SignedUnit];
    if (a.preUnit.creator !== alert.forker || b.preUnit.creator !== alert.forker || a.preUnit.round !== b.preUnit.round) return false;
    if (withHash(a).hash === withHash(b).hash) return false;
    if (!options.unitIsValid(a) || !options.unitIsValid(b)) return false;
    return alert.legitUnits.every((u) => u.preUnit.creator === alert.forker && options.unitIsValid(u));
  }

  function markForker(forker: number, proof: readonly SignedUnit[]): void {
    if (forkers.has(forker)) return;
    forkers.add(forker);
    options.onForker(forker);
    const alert: Alert = { sender: self, forker, proof, legitUnits: options.heldUnitsOf(forker) };
    accept(alert);
  }

  /** Registers a valid alert, signs it, and sends our signature (and the alert, if it is ours). */
  function accept(alert: Alert): AlertState | undefined {
    const hash = alertHash(alert);
    const key = bytesToHex(hash);
    const pair = `${alert.sender}/${alert.forker}`;
    const first = senderForker.get(pair);
    if (first !== undefined && first !== key) return undefined;
    senderForker.set(pair, key);
    const state = stateFor(hash);
    if (state.alert !== undefined) return state;
    state.alert = alert;
    state.resends = Number.POSITIVE_INFINITY;
    state.signatures.set(self, signer.sign(hash));
    if (alert.sender === self) options.sendAll({ kind: 'alert', value: alert });
    options.sendAll({ kind: 'alertSignature', value: { alertHash: hash, signature: state.signatures.get(self)! } });
    markForker(alert.forker, alert.proof);
    maybeCommit(state);
    return state;
  }

  function maybeCommit(state: AlertState): void {
    if (state.committed || state.alert === undefined || state.signatures.size < threshold(n)) return;
    state.committed = true;
    state.resends = RESENDS_AFTER_COMMIT;
    committedCount++;
    for (const unit of state.alert.legitUnits) legit.add(withHash(unit).hash);
    options.sendAll({ kind: 'alertCommitted', value: { alert: state.alert, signatures: state.signatures } });
    options.onCommitted(state.alert);
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
      switch (message.kind) {
        case 'alert': {
          // Links are authenticated: a peer can only send alerts in its own name.
          if (message.value.sender !== from || !alertIsValid(message.value)) return;
          accept(message.value);
          return;
        }
        case 'alertSignature': {
          const { alertHash: hash, signature } = message.value;
          const state = stateFor(hash);
          if (state.committed || state.signatures.has(from) || !signer.verify(from, hash, signature)) return;
          state.signatures.set(from, signature);
          maybeCommit(state);
          return;
        }
        case 'alertCommitted': {
          const { alert, signatures } = message.value;
          const hash = alertHash(alert);
          const state = stateFor(hash);
          if (state.committed) return;
          let valid = 0;
          for (const [peer, signature] of signatures) if (peer < n && signer.verify(peer, hash, signature)) valid++;
          if (valid < threshold(n) || !alertIsValid(alert)) return;
          for (const [peer, signature] of signatures) state.signatures.set(peer, signature);
          if (state.alert === undefined) {
            // Committed alerts bypass the one-alert-per-sender rule: threshold peers already vouched for it.
            state.alert = alert;
            senderForker.set(`${alert.sender}/${alert.forker}`, bytesToHex(hash));
            markForker(alert.forker, alert.proof);
          }
          maybeCommit(state);
          return;
        }
      }
    },
    tick() {
      for (const state of alerts.values()) {
        if (state.alert === undefined || state.resends <= 0) continue;
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
  };
}
