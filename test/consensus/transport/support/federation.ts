/**
 * Real TLS transports on loopback for the tests. Ports come from the OS: a guardian only dials the
 * higher ids, so the transports start from the highest id down and each learns the ports it dials
 * from the ones already listening (lower peers' ports are never used and stay 0).
 */
import { seededRandom } from '../../../../src/domain/seededRandom.ts';
import { makeGuardianCertificate, type GuardianCertificate } from '../../../../src/consensus/transport/certificates.ts';
import { startTransport, type IncomingFrame, type Transport, type TransportOptions } from '../../../../src/consensus/transport/tlsTransport.ts';

export const backoff = { minMs: 20, maxMs: 200 };

export async function makeCertificates(n: number): Promise<GuardianCertificate[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => makeGuardianCertificate(i)));
}

export interface TestFederation {
  certificates: GuardianCertificate[];
  transports: Transport[];
  ports: number[];
  /** Starts guardian `i` again (after `transports[i].close()`), on its old port. */
  restart(i: number, overrides?: Partial<TransportOptions>): Promise<Transport>;
  options(i: number, overrides?: Partial<TransportOptions>): TransportOptions;
  close(): Promise<void>;
}

export async function startFederation(
  certificates: GuardianCertificate[],
  seed: number,
  overrides: (i: number) => Partial<TransportOptions> = () => ({}),
): Promise<TestFederation> {
  const n = certificates.length;
  const ports: number[] = new Array<number>(n).fill(0);
  const transports: Transport[] = new Array<Transport>(n);
  const options = (i: number, extra: Partial<TransportOptions> = {}): TransportOptions => ({
    self: i,
    peers: certificates.map((c, id) => ({ id, host: '127.0.0.1', port: ports[id] ?? 0, certFingerprint: c.fingerprint })),
    certPem: (certificates[i] as GuardianCertificate).certPem,
    keyPem: (certificates[i] as GuardianCertificate).keyPem,
    listen: { host: '127.0.0.1', port: ports[i] ?? 0 },
    maxFrameBytes: 64 * 1024,
    sendQueueLimit: 1024,
    backoff,
    random: seededRandom(seed * 31 + i),
    ...overrides(i),
    ...extra,
  });
  for (let i = n - 1; i >= 0; i--) {
    const transport = await startTransport(options(i));
    transports[i] = transport;
    ports[i] = transport.address.port;
  }
  return {
    certificates,
    transports,
    ports,
    options,
    async restart(i, extra) {
      const transport = await startTransport(options(i, extra));
      transports[i] = transport;
      return transport;
    },
    async close() {
      await Promise.all(transports.map((t) => t.close()));
    },
  };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

export function allConnected(transports: readonly Transport[]): boolean {
  return transports.every((t) => t.linkStates().every((link) => link.connected));
}

/** Everything a transport receives from now on. */
export function collect(transport: Transport): IncomingFrame[] {
  const received: IncomingFrame[] = [];
  transport.messages$.subscribe((frame) => received.push(frame));
  return received;
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
