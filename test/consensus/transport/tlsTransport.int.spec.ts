import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeGuardianCertificate, type GuardianCertificate } from '../../../src/consensus/transport/certificates.ts';
import { encodeFrame } from '../../../src/consensus/transport/frames.ts';
import { startTransport, type Transport, type TransportOptions } from '../../../src/consensus/transport/tlsTransport.ts';
import { seededRandom } from '../../../src/domain/seededRandom.ts';
import { allConnected, backoff, collect, decode, makeCertificates, startFederation, text, waitFor, type TestFederation } from './support/federation.ts';

let members: GuardianCertificate[];
let stranger: GuardianCertificate;
let federation: TestFederation | undefined;

beforeAll(async () => {
  members = await makeCertificates(4);
  stranger = await makeGuardianCertificate(9);
});

afterEach(async () => {
  await federation?.close();
  federation = undefined;
});

const link = (transport: Transport, peer: number) => transport.linkStates().find((l) => l.peer === peer)!;
const federationOptions = (i: number): TransportOptions => ({
  self: i,
  peers: [],
  certPem: members[i]!.certPem,
  keyPem: members[i]!.keyPem,
  listen: { host: '127.0.0.1', port: 0 },
  maxFrameBytes: 64 * 1024,
  sendQueueLimit: 16,
  backoff,
  random: seededRandom(3),
});
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A hand-made TLS client: writes one well-formed frame once its handshake is done, and reports when it is closed. */
function rawClient(port: number, identity: GuardianCertificate | undefined): Promise<{ secured: boolean }> {
  return new Promise((resolve) => {
    let secured = false;
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}) }, () => {
      secured = true;
      socket.write(encodeFrame(text('let me in')));
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ secured }));
  });
}

describe('a federation of four over mutual TLS', () => {
  it('connects every pair and delivers frames both ways, in order per link', async () => {
    federation = await startFederation(members, 1);
    const { transports } = federation;
    const received = transports.map(collect);
    await waitFor('all links up', () => allConnected(transports));

    for (const from of transports) for (const to of transports) if (from !== to) for (let k = 0; k < 50; k++) expect(from.send(to.self, text(`${from.self}->${to.self}#${k}`))).toEqual({ ok: true });
    transports[2]!.sendAll(text('to all from 2'));
    await waitFor('every frame delivered', () => received.every((r) => r.length === 3 * 50 + (r === received[2] ? 0 : 1)));

    for (const to of transports) {
      for (const from of transports) {
        if (from === to) continue;
        const fromPeer = received[to.self]!.filter((f) => f.from === from.self).map((f) => decode(f.bytes));
        const expected = Array.from({ length: 50 }, (_, k) => `${from.self}->${to.self}#${k}`);
        expect(fromPeer).toEqual(from.self === 2 ? [...expected, 'to all from 2'] : expected);
      }
      // One connection per pair, each counted once on both sides.
      for (const state of to.linkStates()) expect(state).toMatchObject({ connected: true, connects: 1, disconnects: 0, framesIn: state.peer === 2 ? 51 : 50, dropped: 0 });
    }
  });

  it.each([
    ['whose certificate is not a member\'s', (): GuardianCertificate | undefined => stranger, 'not-a-member'],
    ['that presents no certificate', (): GuardianCertificate | undefined => undefined, 'no-certificate'],
    ['that is a member dialing a lower id (the lower id dials)', (): GuardianCertificate | undefined => members[3], 'wrong-direction'],
  ] as const)('refuses a client %s, and never delivers its frame', async (_, identity, reason) => {
    federation = await startFederation(members, 2);
    const target = federation.transports[1]!;
    const received = collect(target);
    await waitFor('all links up', () => allConnected(federation!.transports));

    const outcome = await rawClient(target.address.port, identity());

    expect(outcome.secured).toBe(true); // TLS 1.3: the client finishes first, then the server checks it
    expect(target.refusals()[reason]).toBe(1);
    await pause(50);
    expect(received).toEqual([]);
    // The members' own links were not disturbed.
    expect(target.linkStates().map((l) => l.connects)).toEqual([1, 1, 1]);
  });

  it.each([
    ['a certificate no member has', (): GuardianCertificate => stranger, 'not-a-member'],
    ['another member\'s certificate', (): GuardianCertificate => members[2]!, 'wrong-peer'],
  ] as const)('refuses to send to a listener that presents %s', async (_, identity, reason) => {
    const impostorBytes: Buffer[] = [];
    const impostor = tls.createServer({ cert: identity().certPem, key: identity().keyPem, requestCert: true, rejectUnauthorized: false }, (socket) => {
      socket.on('data', (chunk: Buffer) => impostorBytes.push(chunk));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as { port: number }).port;
    // Guardian 0 alone, with all four pinned, and guardian 1's address pointing at the impostor.
    const dialer = await startTransport({
      ...federationOptions(0),
      peers: members.map((c, id) => ({ id, host: '127.0.0.1', port: id === 1 ? port : 1, certFingerprint: c.fingerprint })),
    });
    try {
      dialer.send(1, text('for guardian 1 only'));
      await waitFor('two refused dials', () => dialer.refusals()[reason] >= 2);
      expect(impostorBytes).toEqual([]);
      expect(link(dialer, 1)).toMatchObject({ connected: false, connects: 0, framesOut: 0, queued: 1 });
    } finally {
      await dialer.close();
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('closes a link whose peer sends a frame over the size limit, counts it, and the link comes back', async () => {
    federation = await startFederation(members, 4, (i) => (i === 1 ? { maxFrameBytes: 1024 } : {}));
    const { transports } = federation;
    const received = collect(transports[1]!);
    await waitFor('all links up', () => allConnected(transports));

    expect(transports[0]!.send(1, new Uint8Array(2048).fill(7))).toEqual({ ok: true }); // guardian 0 allows it
    await waitFor('the violation', () => link(transports[1]!, 0).protocolViolations === 1);
    await waitFor('guardian 0 redialed', () => link(transports[0]!, 1).connects === 2 && link(transports[0]!, 1).connected);
    transports[0]!.send(1, text('after'));
    await waitFor('the frame after', () => received.length === 1);

    expect(received.map((f) => [f.from, decode(f.bytes)])).toEqual([[0, 'after']]);
    expect(link(transports[1]!, 0)).toMatchObject({ connects: 2, disconnects: 1, protocolViolations: 1 });
    // The other links never noticed.
    expect(link(transports[1]!, 2)).toMatchObject({ connects: 1, disconnects: 0 });
  });

  it('refuses to send its own frame over the size limit', async () => {
    federation = await startFederation(members, 5);
    expect(federation.transports[0]!.send(1, new Uint8Array(64 * 1024 + 1))).toEqual({ ok: false, reason: 'frame-too-large' });
    expect(federation.transports[0]!.send(7, text('nobody'))).toEqual({ ok: false, reason: 'unknown-peer' });
  });

  it.each([3, 0])('reconnects guardian %i restarted on the same port within the backoff bound', async (restarted) => {
    federation = await startFederation(members, 6 + restarted);
    const { transports } = federation;
    await waitFor('all links up', () => allConnected(transports));

    await transports[restarted]!.close();
    const others = transports.filter((t) => t.self !== restarted);
    await waitFor('the others see it down', () => others.every((t) => !link(t, restarted).connected));
    // Long enough for the redial delays to reach the cap (20 ms doubling to 200 ms).
    await pause(1_500);
    const again = await federation.restart(restarted);
    const received = collect(again);
    const took = await waitFor('all links up again', () => allConnected(federation!.transports));

    expect(took).toBeLessThan(backoff.maxMs + 500);
    for (const t of others) expect(t.send(restarted, text(`hello again from ${t.self}`))).toEqual({ ok: true });
    await waitFor('frames after the restart', () => received.length === 3);
    expect(received.map((f) => decode(f.bytes)).sort()).toEqual(others.map((t) => `hello again from ${t.self}`));
  });

  it('keeps a down peer\'s queue bounded, dropping the oldest frames, and sends the newest when it is back', async () => {
    federation = await startFederation(members, 8, (i) => (i === 0 ? { sendQueueLimit: 8 } : {}));
    const { transports } = federation;
    await waitFor('all links up', () => allConnected(transports));
    await transports[3]!.close();
    await waitFor('guardian 0 sees it down', () => !link(transports[0]!, 3).connected);

    for (let k = 0; k < 100; k++) transports[0]!.send(3, text(`#${k}`));
    expect(link(transports[0]!, 3)).toMatchObject({ queued: 8, dropped: 92 });

    const received = collect(await federation.restart(3));
    await waitFor('the queue flushed', () => received.length === 8);
    await pause(50);
    expect(received.map((f) => decode(f.bytes))).toEqual(Array.from({ length: 8 }, (_, k) => `#${92 + k}`));
    expect(link(transports[0]!, 3)).toMatchObject({ queued: 0, dropped: 92 });
  });

  it('leaves no socket, listener or timer behind after close()', async () => {
    const kinds = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
    const handles = () => process.getActiveResourcesInfo().filter((kind) => kinds.includes(kind)).sort();
    const before = handles();
    federation = await startFederation(members, 10);
    // A dial failing in a loop leaves a pending redial timer: close() must clear it too.
    await federation.transports[3]!.close();
    await waitFor('a redial pending', () => !allConnected(federation!.transports));
    expect(handles().length).toBeGreaterThan(before.length);

    await federation.close();
    federation = undefined;
    await new Promise((resolve) => setImmediate(resolve));
    expect(handles()).toEqual(before);
  });
});
