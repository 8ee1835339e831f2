/**
 * A guardian's peer-to-peer transport: mutual TLS 1.3 links to every other member, each member's
 * certificate pinned by its SHA-256 fingerprint, carrying length-prefixed frames.
 *
 * One connection per pair: the lower id dials the higher, the higher only accepts. So guardian 0
 * dials everyone and the highest id dials no one; a link's reconnects are one side's job, and two
 * guardians never race to replace each other's connection. If the same lower peer connects again
 * (it restarted before we noticed its old socket die), the newest connection wins.
 *
 * Authentication is the pin, not a CA: the TLS layer asks for and accepts any certificate, and the
 * transport checks the peer's certificate against the pins as soon as the handshake completes,
 * before reading or writing a single frame. The peer id comes from which pin matched, never from
 * the wire.
 */
import type { Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { Subject, type Observable } from 'rxjs';
import { reconnectDelay, type Backoff } from './backoff.ts';
import { derFingerprint, normalizeFingerprint } from './fingerprints.ts';
import { encodeFrame } from './frames.ts';
import { createPeerLink, type LinkState, type PeerLink } from './peerLink.ts';
import { silentLogger, type TransportLogger } from './transportLogger.ts';

export interface TransportPeer {
  id: number;
  /** Where this peer listens; only dialed when `id` is above ours, so lower peers' addresses are unused. */
  host: string;
  port: number;
  /** sha256 of the peer's certificate DER, hex (colons and case are ignored). */
  certFingerprint: string;
}

export interface TransportOptions {
  self: number;
  /** The other members; an entry for `self` is ignored. */
  peers: readonly TransportPeer[];
  certPem: string;
  keyPem: string;
  /** Port 0 lets the OS choose; `address` then tells which. */
  listen: { host: string; port: number };
  /** Largest frame payload accepted or sent; a peer that announces a larger one loses its link. */
  maxFrameBytes: number;
  /** Frames kept per peer while its socket cannot take them; the oldest is dropped beyond it. */
  sendQueueLimit: number;
  backoff: Backoff;
  /** A TLS handshake not done within this is abandoned (default 10 s). */
  handshakeTimeoutMs?: number;
  /** The jitter's source (default Math.random); tests pass a seeded one. */
  random?: () => number;
  logger?: TransportLogger;
}

export interface IncomingFrame {
  from: number;
  bytes: Uint8Array;
}

export type SendResult = { ok: true } | { ok: false; reason: 'unknown-peer' | 'frame-too-large' | 'closed' };

/** Why a connection was refused before any frame crossed it. */
export type Refusal = 'no-certificate' | 'not-a-member' | 'wrong-peer' | 'wrong-direction';

export interface Transport {
  readonly self: number;
  /** The address actually listened on. */
  readonly address: { host: string; port: number };
  /** Every frame from an authenticated peer, in order per link. Frames with no subscriber are lost. */
  readonly messages$: Observable<IncomingFrame>;
  send(peer: number, bytes: Uint8Array): SendResult;
  sendAll(bytes: Uint8Array): void;
  linkStates(): LinkState[];
  refusals(): Record<Refusal, number>;
  /** Closes every socket, the listener and every timer; resolves once all handles are released. */
  close(): Promise<void>;
}

export class TransportStartError extends Error {
  override readonly name = 'TransportStartError';
}

export async function startTransport(options: TransportOptions): Promise<Transport> {
  const { self } = options;
  const logger = options.logger ?? silentLogger;
  const random = options.random ?? Math.random;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const keepAliveMs = 15_000;
  const peers = options.peers.filter((p) => p.id !== self);
  const byFingerprint = pinsByFingerprint(peers);
  const incoming = new Subject<IncomingFrame>();
  const links = new Map<number, PeerLink>(
    peers.map((p) => [p.id, createPeerLink({ peer: p.id, maxFrameBytes: options.maxFrameBytes, sendQueueLimit: options.sendQueueLimit, logger, onFrame: (from, bytes) => incoming.next({ from, bytes }) })]),
  );
  const refused: Record<Refusal, number> = { 'no-certificate': 0, 'not-a-member': 0, 'wrong-peer': 0, 'wrong-direction': 0 };
  const sockets = new Set<Socket>();
  const redials = new Map<number, NodeJS.Timeout>();
  const attempts = new Map<number, number>();
  let closed = false;
  const tlsOptions = { cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

  function track(socket: Socket): void {
    sockets.add(socket);
    // Errors (resets, refused dials) all end in 'close', which is where links react.
    socket.on('error', (error) => logger.debug({ error: error.message }, 'peer socket error'));
    socket.once('close', () => sockets.delete(socket));
    // Rounds are tens of milliseconds apart: no Nagle delay. Keepalive finds a peer that vanished
    // without closing (power loss), whose link would otherwise look up forever on the accepting side.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveMs);
  }

  function refuse(socket: TLSSocket, reason: Refusal, details: object): void {
    refused[reason]++;
    logger.warn({ reason, ...details }, 'refused a peer connection');
    socket.destroy();
  }

  /** The member whose pin the socket's certificate matches; undefined (and refused) otherwise. */
  function authenticate(socket: TLSSocket, remote: object): number | undefined {
    const certificate = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | null;
    if (certificate?.raw === undefined) return void refuse(socket, 'no-certificate', remote);
    const fingerprint = derFingerprint(certificate.raw);
    const peer = byFingerprint.get(fingerprint);
    if (peer === undefined) return void refuse(socket, 'not-a-member', { ...remote, fingerprint });
    return peer;
  }

  const server = tls.createServer({ ...tlsOptions, requestCert: true, rejectUnauthorized: false, handshakeTimeout: handshakeTimeoutMs });
  server.on('connection', track);
  server.on('tlsClientError', (error) => logger.debug({ error: error.message }, 'peer handshake failed'));
  server.on('secureConnection', (socket: TLSSocket) => {
    track(socket);
    const remote = { remote: `${socket.remoteAddress}:${socket.remotePort}` };
    const peer = authenticate(socket, remote);
    if (peer === undefined) return;
    // We dial the higher ids ourselves; accepting from them too would give the pair two links.
    if (peer > self) return refuse(socket, 'wrong-direction', { ...remote, peer });
    logger.info({ peer }, 'peer link up (accepted)');
    (links.get(peer) as PeerLink).attach(socket);
  });

  function dial(peer: TransportPeer): void {
    redials.delete(peer.id);
    if (closed) return;
    const socket = tls.connect({ ...tlsOptions, host: peer.host, port: peer.port, rejectUnauthorized: false });
    track(socket);
    socket.setTimeout(handshakeTimeoutMs, () => socket.destroy());
    // Node skips checkServerIdentity when the chain does not verify, which a self-signed
    // certificate never does, so the pin is checked here, before the link may write a frame.
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      const remote = { remote: `${peer.host}:${peer.port}` };
      const authenticated = authenticate(socket, remote);
      if (authenticated === undefined) return;
      if (authenticated !== peer.id) return refuse(socket, 'wrong-peer', { ...remote, expected: peer.id, presented: authenticated });
      attempts.set(peer.id, 0);
      logger.info({ peer: peer.id }, 'peer link up (dialed)');
      (links.get(peer.id) as PeerLink).attach(socket);
    });
    // A failed dial and a dropped link both end here: try again after the backoff.
    socket.once('close', () => scheduleDial(peer));
  }

  function scheduleDial(peer: TransportPeer): void {
    if (closed || redials.has(peer.id)) return;
    const attempt = attempts.get(peer.id) ?? 0;
    attempts.set(peer.id, attempt + 1);
    const delay = reconnectDelay(attempt, options.backoff, random);
    logger.debug({ peer: peer.id, attempt, delay }, 'redialing peer');
    redials.set(peer.id, setTimeout(() => dial(peer), delay));
  }

  // Our own message over the limit is a bug upstream; every peer would cut the link for it.
  function tooLarge(bytes: Uint8Array): SendResult {
    logger.warn({ bytes: bytes.length, limit: options.maxFrameBytes }, 'not sending a frame over the size limit');
    return { ok: false, reason: 'frame-too-large' };
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => reject(new TransportStartError(`guardian ${self} cannot listen on ${options.listen.host}:${options.listen.port}: ${error.message}`));
    server.once('error', failed);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => logger.warn({ error: error.message }, 'p2p listener error'));
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : { ...options.listen };
  for (const peer of peers) if (peer.id > self) dial(peer);

  return {
    self,
    address,
    messages$: incoming.asObservable(),
    send(peer, bytes) {
      if (closed) return { ok: false, reason: 'closed' };
      const link = links.get(peer);
      if (link === undefined) return { ok: false, reason: 'unknown-peer' };
      if (bytes.length > options.maxFrameBytes) return tooLarge(bytes);
      link.send(encodeFrame(bytes));
      return { ok: true };
    },
    sendAll(bytes) {
      if (closed) return;
      if (bytes.length > options.maxFrameBytes) return void tooLarge(bytes);
      // One encoding shared by every queue: frames are never mutated after encoding.
      const frame = encodeFrame(bytes);
      for (const link of links.values()) link.send(frame);
    },
    linkStates: () => [...links.values()].map((link) => link.state()).sort((a, b) => a.peer - b.peer),
    refusals: () => ({ ...refused }),
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of redials.values()) clearTimeout(timer);
      redials.clear();
      // Every socket still in the set has yet to emit 'close' (it leaves the set on it).
      const released = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
      for (const link of links.values()) link.disconnect();
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...released]);
      incoming.complete();
    },
  };
}

function pinsByFingerprint(peers: readonly TransportPeer[]): Map<string, number> {
  const pins = new Map<string, number>();
  for (const peer of peers) {
    const fingerprint = normalizeFingerprint(peer.certFingerprint);
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new TransportStartError(`peer ${peer.id}: certFingerprint is not a SHA-256 hex digest`);
    const other = pins.get(fingerprint);
    if (other !== undefined) throw new TransportStartError(`peers ${other} and ${peer.id} pin the same certificate`);
    pins.set(fingerprint, peer.id);
  }
  return pins;
}
