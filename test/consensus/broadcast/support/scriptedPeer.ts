import { decodeWire, encodeWire, type BroadcastMessage } from '../../../../src/consensus/broadcast/dissemination/messages.ts';
import type { UnitSigner } from '../../../../src/consensus/broadcast/signer.ts';
import { combinedHash, unitHash, type PreUnit, type SignedUnit } from '../../../../src/consensus/broadcast/unit.ts';
import { hexToBytes } from '../../../../src/domain/hashing.ts';
import { createHashSigner } from './hashSigner.ts';
import type { Simulation } from './simulation.ts';

export interface Received {
  from: number;
  session: bigint;
  message: BroadcastMessage;
  bytes: number;
}

/**
 * A peer driven by the test instead of a node: it sends whatever the test says (any session, any
 * bytes) and records what honest nodes send it. It holds its own key, so its units are validly signed.
 */
export interface ScriptedPeer {
  readonly peer: number;
  readonly received: Received[];
  send(to: number, message: BroadcastMessage, session?: bigint): void;
  sendRaw(to: number, bytes: Uint8Array): void;
  /** Signs a unit as `creator` (the hash signer can sign for anyone: simulations only). */
  sign(preUnit: PreUnit, creator?: number): SignedUnit;
  stop(): void;
}

export function createScriptedPeer(sim: Simulation, peer: number, options: { n: number; session?: bigint; signer?: (peer: number) => UnitSigner }): ScriptedPeer {
  const session = options.session ?? 7n;
  const endpoint = sim.net.endpoint(peer);
  const controller = new AbortController();
  const received: Received[] = [];
  endpoint.receive((from, bytes) => {
    const decoded = decodeWire(bytes);
    if (decoded.ok) received.push({ from, session: decoded.value.session, message: decoded.value.message, bytes: bytes.length });
  }, controller.signal);
  const signerOf = options.signer ?? ((p: number) => createHashSigner(p, options.n));
  return {
    peer,
    received,
    send: (to, message, s = session) => endpoint.send(to, encodeWire(s, message)),
    sendRaw: (to, bytes) => endpoint.send(to, bytes),
    sign: (preUnit, creator = preUnit.creator) => ({ preUnit, signature: signerOf(creator).sign(hexToBytes(unitHash(preUnit))) }),
    stop: () => controller.abort(),
  };
}

/** A pre-unit of `creator` at `round` naming the given parent rounds (combined hash of no parents unless given). */
export function preUnitAt(creator: number, round: number, parents: readonly (number | undefined)[], options: { session?: bigint; data?: Uint8Array; parentHashes?: string[] } = {}): PreUnit {
  return {
    creator,
    round,
    session: options.session ?? 7n,
    controlHash: { parents, combinedHash: combinedHash(options.parentHashes ?? []) },
    data: options.data ?? new Uint8Array([creator, round & 0xff]),
  };
}
