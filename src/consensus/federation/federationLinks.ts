/**
 * The federation's view of its peer links: every frame is one PeerMessage. Broadcast messages go to
 * the current session's broadcast node through the `Network` port; the rest (hello, signed
 * outcomes) to whoever listens. A frame that does not decode is counted and dropped: a peer's
 * garbage never reaches the broadcast or the engine.
 */
import { Subject, type Observable } from 'rxjs';
import type { Network } from '../broadcast/network/network.ts';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from './peerMessages.ts';

/** What the federation needs of a transport (the TLS transport, or an in-memory one in tests). */
export interface Links {
  readonly messages$: Observable<{ from: number; bytes: Uint8Array }>;
  send(peer: number, bytes: Uint8Array): unknown;
  sendAll(bytes: Uint8Array): void;
}

export type ControlMessage = Exclude<PeerMessage, { kind: 'broadcast' }>;

export interface FederationLinks {
  /** The broadcast's port: only its own messages, tagged and untagged here. */
  readonly network: Network;
  readonly control$: Observable<{ from: number; message: ControlMessage }>;
  send(peer: number, message: ControlMessage): void;
  sendAll(message: ControlMessage): void;
  /** Frames from this peer are dropped from now on (a peer under another consensus hash). */
  exclude(peer: number): void;
  /** Frames that did not decode, per peer. */
  garbage(): ReadonlyMap<number, number>;
  close(): void;
}

export function federationLinks(links: Links): FederationLinks {
  const broadcastHandlers = new Set<(from: number, bytes: Uint8Array) => void>();
  const control$ = new Subject<{ from: number; message: ControlMessage }>();
  const excluded = new Set<number>();
  const garbage = new Map<number, number>();
  const subscription = links.messages$.subscribe(({ from, bytes }) => {
    if (excluded.has(from)) return;
    const decoded = decodePeerMessage(bytes);
    if (!decoded.ok) {
      garbage.set(from, (garbage.get(from) ?? 0) + 1);
      return;
    }
    const message = decoded.value;
    if (message.kind === 'broadcast') for (const handler of broadcastHandlers) handler(from, message.value);
    else control$.next({ from, message });
  });
  const wrap = (bytes: Uint8Array) => encodePeerMessage({ kind: 'broadcast', value: bytes });
  return {
    network: {
      send: (to, bytes) => {
        if (!excluded.has(to)) links.send(to, wrap(bytes));
      },
      sendAll: (bytes) => links.sendAll(wrap(bytes)),
      receive(handler, signal) {
        if (signal.aborted) return;
        broadcastHandlers.add(handler);
        signal.addEventListener('abort', () => broadcastHandlers.delete(handler), { once: true });
      },
    },
    control$: control$.asObservable(),
    send: (peer, message) => {
      if (!excluded.has(peer)) links.send(peer, encodePeerMessage(message));
    },
    sendAll: (message) => links.sendAll(encodePeerMessage(message)),
    exclude: (peer) => excluded.add(peer),
    garbage: () => garbage,
    close() {
      subscription.unsubscribe();
      control$.complete();
      broadcastHandlers.clear();
    },
  };
}
