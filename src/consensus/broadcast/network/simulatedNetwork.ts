import type { Clock } from '../clock.ts';
import type { Network } from './network.ts';
import { seededRandom } from '../../../domain/seededRandom.ts';

/**
 * A byzantine hook on one link: given a message `from` -> `to`, returns what actually goes on the
 * wire: [] withholds it, a changed copy corrupts it, two copies equivocate or duplicate.
 */
export type LinkTamper = (from: number, to: number, message: Uint8Array) => Uint8Array[];

export interface SimulatedNetworkOptions {
  n: number;
  clock: Clock;
  seed: number;
  /** Latency of one message in ms, drawn uniformly from [min, max]; different draws reorder messages. */
  latency?: { min: number; max: number };
  /** Per-link override of the latency range (e.g. one slow node). */
  linkLatency?: (from: number, to: number) => { min: number; max: number } | undefined;
  /** Probability that a message is lost. */
  loss?: number;
  /** Probability that a message is delivered twice. */
  duplication?: number;
  tamper?: LinkTamper;
}

export interface SimulatedNetwork {
  endpoint(peer: number): Network;
  /** Only peers in the same group can talk; peers in no group are isolated. */
  partition(groups: number[][]): void;
  heal(): void;
  setTamper(tamper: LinkTamper | undefined): void;
  readonly stats: { sent: number; delivered: number; dropped: number; bytes: number };
}

export function createSimulatedNetwork(options: SimulatedNetworkOptions): SimulatedNetwork {
  const { n, clock } = options;
  const random = seededRandom(options.seed);
  const handlers: (((from: number, message: Uint8Array) => void) | undefined)[] = Array.from({ length: n }, () => undefined);
  let groupOf: number[] | undefined;
  let tamper = options.tamper;
  const stats = { sent: 0, delivered: 0, dropped: 0, bytes: 0 };

  function latency(from: number, to: number): number {
    const range = options.linkLatency?.(from, to) ?? options.latency ?? { min: 0, max: 0 };
    return range.min + random() * (range.max - range.min);
  }

  function connected(from: number, to: number): boolean {
    if (groupOf === undefined) return true;
    const g = groupOf[from];
    return g !== undefined && g >= 0 && g === groupOf[to];
  }

  function deliverLater(from: number, to: number, message: Uint8Array): void {
    clock.setTimer(latency(from, to), () => {
      // A partition also cuts messages already in flight, as a real link failure would.
      const handler = handlers[to];
      if (handler === undefined || !connected(from, to)) {
        stats.dropped++;
        return;
      }
      stats.delivered++;
      handler(from, message);
    });
  }

  function transmit(from: number, to: number, message: Uint8Array): void {
    if (to === from || to < 0 || to >= n) return;
    stats.sent++;
    stats.bytes += message.length;
    if (!connected(from, to) || random() < (options.loss ?? 0)) {
      stats.dropped++;
      return;
    }
    const copies = tamper === undefined ? [message] : tamper(from, to, message);
    for (const copy of copies) {
      deliverLater(from, to, copy);
      if (random() < (options.duplication ?? 0)) deliverLater(from, to, copy);
    }
  }

  return {
    stats,
    endpoint(peer) {
      return {
        send: (to, message) => transmit(peer, to, message),
        sendAll(message) {
          for (let to = 0; to < n; to++) transmit(peer, to, message);
        },
        receive(handler, signal) {
          if (signal.aborted) return;
          handlers[peer] = handler;
          signal.addEventListener('abort', () => {
            if (handlers[peer] === handler) handlers[peer] = undefined;
          });
        },
      };
    },
    partition(groups) {
      groupOf = Array.from({ length: n }, () => -1);
      groups.forEach((group, g) => group.forEach((p) => (groupOf![p] = g)));
    },
    heal() {
      groupOf = undefined;
    },
    setTamper(next) {
      tamper = next;
    },
  };
}
