/**
 * Peer links in memory for federation tests: authenticated by construction (the sender is the
 * link's peer), delivered asynchronously in order per link, and cut or restored per guardian.
 */
import { Subject } from 'rxjs';
import type { Links } from '../../../src/consensus/federation/federationLinks.ts';

export interface MemoryLinkHub {
  links(peer: number): Links;
  /** A cut guardian neither sends nor receives. */
  cut(peer: number): void;
  restore(peer: number): void;
  /** Frames delivered so far. */
  delivered(): number;
  /** Rewrites every frame on a link from here on (a byzantine sender): what it returns is delivered instead. */
  tamper(rewrite: (from: number, to: number, bytes: Uint8Array) => Uint8Array[]): void;
}

export function memoryLinkHub(n: number): MemoryLinkHub {
  const inboxes = Array.from({ length: n }, () => new Subject<{ from: number; bytes: Uint8Array }>());
  const cut = new Set<number>();
  let delivered = 0;
  let rewrite: (from: number, to: number, bytes: Uint8Array) => Uint8Array[] = (_from, _to, bytes) => [bytes];
  const deliver = (from: number, to: number, bytes: Uint8Array) => {
    if (from === to || to < 0 || to >= n || cut.has(from) || cut.has(to)) return;
    for (const frame of rewrite(from, to, bytes)) {
      setImmediate(() => {
        if (cut.has(from) || cut.has(to)) return;
        delivered++;
        inboxes[to]!.next({ from, bytes: frame });
      });
    }
  };
  return {
    links: (peer) => ({
      messages$: inboxes[peer]!.asObservable(),
      send: (to, bytes) => deliver(peer, to, bytes),
      sendAll: (bytes) => {
        for (let to = 0; to < n; to++) deliver(peer, to, bytes);
      },
    }),
    cut: (peer) => cut.add(peer),
    restore: (peer) => cut.delete(peer),
    delivered: () => delivered,
    tamper: (given) => {
      rewrite = given;
    },
  };
}
