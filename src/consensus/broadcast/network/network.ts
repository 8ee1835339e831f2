/**
 * What the broadcast needs from the transport: authenticated links (the sender id is the link's
 * peer, not something the message claims) carrying opaque bytes, with no delivery guarantee.
 */
export interface Network {
  send(to: number, message: Uint8Array): void;
  sendAll(message: Uint8Array): void;
  /** Delivers every incoming message to `handler` until `signal` aborts. */
  receive(handler: (from: number, message: Uint8Array) => void, signal: AbortSignal): void;
}
