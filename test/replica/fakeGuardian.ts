import { createServer, type Server } from 'node:http';
import { encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import { federationTag, type FederationKeys } from '../../src/domain/federation.ts';
import { bytesToHex, signedDigest } from '../../src/domain/hashing.ts';
import { sessionHeader } from '../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';

/**
 * A stand-in guardian for the replica's trust tests: a single-guardian federation whose key this
 * test holds, serving GET /v1/federation, /v1/sessions/count, /v1/sessions and /v1/sessions/:i/signed
 * from a list of sessions the test writes, honest or tampered.
 */

export interface ServedSession {
  items: { peer: number; item: ConsensusItem }[];
  /** Default: the header of `items`. */
  header?: string;
  /** Default: the federation's signature of the stated header. */
  signatures?: Record<string, string>;
}

export interface FakeGuardian {
  url: string;
  keys: FederationKeys;
  /** The signature the federation's only guardian makes over header(session, items). */
  sign(session: number, items: ServedSession['items']): string;
  headerOf(session: number, items: ServedSession['items']): string;
  sessions: ServedSession[];
  close(): Promise<void>;
}

export async function startFakeGuardian(seed: number): Promise<FakeGuardian> {
  const random = seededRandom(seed);
  // A secret key from the seeded stream (valid: below the curve order with overwhelming odds).
  const secret = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
  const pubkey = nobleBackend.publicKey(secret);
  const keys: FederationKeys = new Map([[0, pubkey]]);
  const tag = federationTag(keys);
  const headerBytes = (session: number, items: ServedSession['items']) => sessionHeader(session, { items });
  const sessions: ServedSession[] = [];
  let url = '';

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path.pathname === '/v1/federation') {
      return send(200, { peers: [{ id: 0, pubkey: bytesToHex(pubkey), apiUrl: url }], threshold: 1, consensusHash: 'ab'.repeat(32), modules: { wallet: { withdrawFeeMsat: '1000' } } });
    }
    if (path.pathname === '/v1/sessions/count') return send(200, { count: sessions.length });
    if (path.pathname === '/v1/sessions') {
      const from = Number(path.searchParams.get('from') ?? 0);
      const limit = Number(path.searchParams.get('limit') ?? 100);
      return send(200, { sessions: sessions.slice(from, from + limit).map((s, i) => ({ session: from + i, itemCount: s.items.length, startedAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:01.000Z' })) });
    }
    const signed = /^\/v1\/sessions\/(\d+)\/signed$/.exec(path.pathname);
    if (signed !== null) {
      const i = Number(signed[1]);
      const served = sessions[i];
      if (served === undefined) return send(404, { error: 'not_found', reason: `session ${i} is not complete` });
      const header = served.header ?? bytesToHex(headerBytes(i, served.items));
      return send(200, {
        session: i,
        header,
        items: served.items.map(({ peer, item }) => ({ peer, item: bytesToHex(encodeConsensusItem(item)) })),
        signatures: served.signatures ?? { '0': bytesToHex(nobleBackend.sign(signedDigest(tag, Buffer.from(header, 'hex')), secret)) },
      });
    }
    send(404, { error: 'not_found', reason: path.pathname });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    url,
    keys,
    sessions,
    headerOf: (session, items) => bytesToHex(headerBytes(session, items)),
    sign: (session, items) => bytesToHex(nobleBackend.sign(signedDigest(tag, headerBytes(session, items)), secret)),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
