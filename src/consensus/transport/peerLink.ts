/**
 * One peer's side of the link: its bounded send queue, the authenticated socket currently carrying
 * it (if any), the frame decoder and the counters. Who dials and who is trusted is decided by the
 * transport; a socket reaches `attach` only after its certificate matched this peer's pin.
 */
import type { TLSSocket } from 'node:tls';
import { createFrameDecoder, frameHeaderBytes } from './frames.ts';
import { createSendQueue } from './sendQueue.ts';
import type { TransportLogger } from './transportLogger.ts';

export interface LinkState {
  peer: number;
  connected: boolean;
  /** When `connected` last changed (ms since the epoch); the link's creation time if it never did. */
  since: number;
  connects: number;
  disconnects: number;
  framesIn: number;
  /** Frames handed to the socket (sent, not necessarily received: the link gives no guarantee). */
  framesOut: number;
  /** Payload bytes, frame headers not counted. */
  bytesIn: number;
  bytesOut: number;
  /** Frames waiting for the socket. */
  queued: number;
  /** Frames dropped from a full send queue (the oldest ones). */
  dropped: number;
  /** Links closed because the peer broke the framing (an oversized frame). */
  protocolViolations: number;
}

export interface PeerLink {
  readonly peer: number;
  /** Makes `socket` this link's carrier, closing the one before it (the newest connection wins). */
  attach(socket: TLSSocket): void;
  /** Queues an encoded frame and writes as much of the queue as the socket takes now. */
  send(frame: Buffer): void;
  state(): LinkState;
  /** Destroys the carrying socket, if any. */
  disconnect(): void;
}

export interface PeerLinkOptions {
  peer: number;
  maxFrameBytes: number;
  sendQueueLimit: number;
  onFrame: (from: number, bytes: Uint8Array) => void;
  logger: TransportLogger;
}

export function createPeerLink(options: PeerLinkOptions): PeerLink {
  const { peer, logger } = options;
  const queue = createSendQueue(options.sendQueueLimit);
  const counters = { connects: 0, disconnects: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, protocolViolations: 0 };
  let since = Date.now();
  let current: TLSSocket | undefined;

  function markDown(socket: TLSSocket): void {
    if (current !== socket) return;
    current = undefined;
    counters.disconnects++;
    since = Date.now();
  }

  // Only as much as the socket accepts without buffering: the bounded queue stays the one place
  // where frames wait, so a slow peer costs at most `sendQueueLimit` frames of memory.
  function drain(): void {
    while (current !== undefined && !current.writableNeedDrain && queue.length > 0) {
      const frame = queue.shift() as Buffer;
      counters.framesOut++;
      counters.bytesOut += frame.length - frameHeaderBytes;
      current.write(frame);
    }
  }

  function receive(socket: TLSSocket, decoder: ReturnType<typeof createFrameDecoder>, chunk: Buffer): void {
    const result = decoder.push(chunk);
    for (const frame of result.frames) {
      // A handler may have closed the transport while we were delivering this chunk's frames.
      if (current !== socket) return;
      counters.framesIn++;
      counters.bytesIn += frame.length;
      options.onFrame(peer, frame);
    }
    if (!result.ok && current === socket) {
      counters.protocolViolations++;
      logger.warn({ peer, ...result.violation }, 'closing the link: the peer sent a frame over the size limit');
      markDown(socket);
      socket.destroy();
    }
  }

  return {
    peer,
    attach(socket) {
      if (current !== undefined) {
        const previous = current;
        markDown(previous);
        previous.destroy();
      }
      current = socket;
      counters.connects++;
      since = Date.now();
      const decoder = createFrameDecoder(options.maxFrameBytes);
      socket.on('data', (chunk: Buffer) => receive(socket, decoder, chunk));
      socket.on('drain', drain);
      socket.on('close', () => markDown(socket));
      drain();
    },
    send(frame) {
      if (queue.push(frame)) counters.dropped++;
      drain();
    },
    state() {
      return { peer, connected: current !== undefined, since, ...counters, queued: queue.length };
    },
    disconnect() {
      if (current === undefined) return;
      const socket = current;
      markDown(socket);
      socket.destroy();
    },
  };
}
