import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, consensusConfig, parseGuardianConfig, transportIdentity } from '../../src/consensus/config.ts';
import { bytesToHex } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { makeGuardianCertificate, type GuardianCertificate } from '../../src/consensus/transport/certificates.ts';
import { validate } from '../../src/streams/events.ts';

/** The guardian config of a federation of four, built by hand (not by `fedlog init`), with fixed keys. */

const secret = (i: number) => bytesToHex(new Uint8Array(32).fill(i + 1));
const pubkey = (i: number) => bytesToHex(nobleBackend.publicKey(new Uint8Array(32).fill(i + 1)));

let dir: string;
let certificates: GuardianCertificate[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedlog-config-'));
  certificates = await Promise.all([0, 1, 2, 3].map((i) => makeGuardianCertificate(i)));
  certificates.forEach((c, i) => {
    writeFileSync(join(dir, `cert-${i}.pem`), c.certPem);
    writeFileSync(join(dir, `key-${i}.pem`), c.keyPem, { mode: 0o600 });
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rawConfig(self: number) {
  return {
    version: 1,
    peer: self,
    secretKey: secret(self),
    federation: {
      peers: [0, 1, 2, 3].map((i) => ({ id: i, pubkey: pubkey(i), apiUrl: `http://127.0.0.1:${8174 + 2 * i}`, p2pUrl: `127.0.0.1:${8173 + 2 * i}`, certFingerprint: certificates[i]!.fingerprint })),
    },
    dataDir: '.',
    api: { port: 8174 + 2 * self },
    p2p: { port: 8173 + 2 * self },
    tls: { certPath: `cert-${self}.pem`, keyPath: `key-${self}.pem` },
    adminToken: 'a'.repeat(16),
  };
}
type Raw = ReturnType<typeof rawConfig>;
const withPeer = (raw: Raw, id: number, change: Record<string, unknown>): Raw => ({
  ...raw,
  federation: { ...raw.federation, peers: raw.federation.peers.map((p) => (p.id === id ? { ...p, ...change } : p)) },
});

describe('the guardian config of a single guardian', () => {
  it('keeps the consensus hash it had before certificates existed, so existing data directories still start', () => {
    const raw = {
      version: 1,
      peer: 0,
      secretKey: '00'.repeat(31) + '01',
      federation: { peers: [{ id: 0, pubkey: '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', apiUrl: 'http://127.0.0.1:8174', p2pUrl: '127.0.0.1:8173' }] },
      dataDir: '.',
      api: { port: 8174 },
      p2p: { port: 8173 },
      adminToken: 'x'.repeat(16),
    };
    // Computed by the code of commit 1d5c0c9, before fingerprints were part of the config.
    expect(consensusConfig(parseGuardianConfig(raw)).consensusHash).toBe('83102233624ac72c3171465bba27c8e5f2e9acb97f592cee6082bcb1fc04a162');
  });
});

describe('the guardian config of a federation of four', () => {
  it('parses, resolves the TLS paths against the config directory, and records the pins in FederationConfigured', () => {
    const config = parseGuardianConfig(rawConfig(2), dir);
    expect(config.tls).toEqual({ certPath: join(dir, 'cert-2.pem'), keyPath: join(dir, 'key-2.pem') });
    const event = consensusConfig(config);
    expect(event.peers.map((p) => p.certFingerprint)).toEqual(certificates.map((c) => c.fingerprint));
    expect(validate('FederationConfigured', event)).toEqual({ ok: true, data: event });
  });

  it('gives all four guardians the same consensus hash, and a different one when any pin differs', () => {
    const hashes = [0, 1, 2, 3].map((i) => consensusConfig(parseGuardianConfig(rawConfig(i), dir)).consensusHash);
    expect(new Set(hashes).size).toBe(1);
    const repinned = withPeer(rawConfig(0), 3, { certFingerprint: certificates[3]!.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
    expect(consensusConfig(parseGuardianConfig(repinned, dir)).consensusHash).not.toBe(hashes[0]);
    // Local addresses are not consensus: moving a peer keeps the hash.
    const moved = withPeer(rawConfig(0), 3, { p2pUrl: '10.0.0.9:9000', apiUrl: 'http://10.0.0.9:9001' });
    expect(consensusConfig(parseGuardianConfig(moved, dir)).consensusHash).toBe(hashes[0]);
  });

  it('accepts a fingerprint written with colons and in upper case, and keeps it as lowercase hex', () => {
    const written = certificates[1]!.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    const config = parseGuardianConfig(withPeer(rawConfig(0), 1, { certFingerprint: written }), dir);
    expect(config.federation.peers[1]!.certFingerprint).toBe(certificates[1]!.fingerprint);
    expect(consensusConfig(config).consensusHash).toBe(consensusConfig(parseGuardianConfig(rawConfig(0), dir)).consensusHash);
  });

  // Built lazily: the certificates exist only once beforeAll ran.
  it.each([
    ['a peer without p2pUrl', () => withPeer(rawConfig(0), 2, { p2pUrl: undefined }), /peer 2 has no p2pUrl/],
    ['a p2pUrl that is not host:port', () => withPeer(rawConfig(0), 2, { p2pUrl: 'http://a:1/' }), /p2pUrl "http:\/\/a:1\/" is not host:port/],
    ['a port beyond 65535', () => withPeer(rawConfig(0), 2, { p2pUrl: 'a:65536' }), /not host:port/],
    ['a peer without certFingerprint', () => withPeer(rawConfig(0), 1, { certFingerprint: undefined }), /peer 1 has no certFingerprint/],
    ['a fingerprint that is not sha256', () => withPeer(rawConfig(0), 1, { certFingerprint: 'ab'.repeat(20) }), /SHA-256 fingerprint/],
    ['two peers pinning one certificate', () => withPeer(rawConfig(0), 3, { certFingerprint: certificates[2]!.fingerprint }), /peers 2 and 3 pin the same certificate/],
    ['a guardian without tls', () => ({ ...rawConfig(0), tls: undefined }), /has no tls/],
  ] as const)('refuses %s', (_label, raw, reason) => {
    expect(() => parseGuardianConfig(raw(), dir)).toThrow(ConfigError);
    expect(() => parseGuardianConfig(raw(), dir)).toThrow(reason);
  });

  it('still refuses a federation of 2 or 3, with the reason', () => {
    for (const n of [2, 3]) {
      const raw = rawConfig(0);
      const small = { ...raw, federation: { ...raw.federation, peers: raw.federation.peers.slice(0, n) } };
      expect(() => parseGuardianConfig(small, dir)).toThrow(new RegExp(`${n} guardians is not supported: use n = 1, or n >= 4`));
    }
  });

  it('gives the transport its identity: the PEMs read from disk, the other three with address and pin, the listen address', () => {
    const identity = transportIdentity(parseGuardianConfig(withPeer(rawConfig(1), 3, { p2pUrl: '[::1]:9000' }), dir));
    expect(identity.self).toBe(1);
    expect(identity.certPem).toBe(certificates[1]!.certPem);
    expect(identity.keyPem).toBe(certificates[1]!.keyPem);
    expect(identity.listen).toEqual({ host: '127.0.0.1', port: 8175 });
    expect(identity.peers).toEqual([
      { id: 0, host: '127.0.0.1', port: 8173, certFingerprint: certificates[0]!.fingerprint },
      { id: 2, host: '127.0.0.1', port: 8177, certFingerprint: certificates[2]!.fingerprint },
      { id: 3, host: '::1', port: 9000, certFingerprint: certificates[3]!.fingerprint },
    ]);
  });

  it('refuses to present a certificate other than the one the federation pinned for this guardian', () => {
    const swapped = { ...rawConfig(0), tls: { certPath: 'cert-1.pem', keyPath: 'key-1.pem' } };
    expect(() => transportIdentity(parseGuardianConfig(swapped, dir))).toThrow(/cert-1\.pem has fingerprint .* but the federation pins .* for guardian 0/);
    const missing = { ...rawConfig(0), tls: { certPath: 'nowhere.pem', keyPath: 'key-0.pem' } };
    expect(() => transportIdentity(parseGuardianConfig(missing, dir))).toThrow(ConfigError);
    expect(() => transportIdentity(parseGuardianConfig(missing, dir))).toThrow(/cannot read the TLS certificate/);
  });
});
