/**
 * The broadcast's `Network` port over the TLS transport. The sender id the broadcast sees is the
 * link's pinned peer, as the port requires; delivery is best effort, as the port allows.
 */
import type { Network } from '../broadcast/network/network.ts';
import type { Transport } from './tlsTransport.ts';

export function transportNetwork(transport: Transport): Network {
  return {
    send(to, message) {
      // An unknown peer or an oversized message is dropped, like any lost message; the transport logs it.
      transport.send(to, message);
    },
    sendAll(message) {
      transport.sendAll(message);
    },
    receive(handler, signal) {
      if (signal.aborted) return;
      const subscription = transport.messages$.subscribe(({ from, bytes }) => handler(from, bytes));
      signal.addEventListener('abort', () => subscription.unsubscribe(), { once: true });
    },
  };
}
