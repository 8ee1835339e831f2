import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createSecureContext } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { initFederation, makeFederationCertificates } from '../../src/cli/initCommand.ts';
import { consensusConfig, loadGuardianConfig, transportIdentity } from '../../src/consensus/config.ts';
import { certificateFingerprint } from '../../src/consensus/transport/certificates.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-init4-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function initFour(out: string, options: { host?: string; bind?: string; basePort?: number } = {}) {
  const certificates = await makeFederationCertificates(4, options.host);
  return initFederation({ peers: 4, out, ...options, certificates, roundDelayMs: 20, roundsPerSession: 100 });
}

describe('fedlog init --peers 4', () => {
  it('writes four configs the loader accepts, with one consensus hash, each pinning every member by its real certificate', async () => {
    const out = tempDir();
    const { configFiles } = await initFour(out);
    expect(configFiles).toEqual([0, 1, 2, 3].map((i) => join(out, `guardian-${i}`, 'config.json')));
    const configs = configFiles.map((file) => loadGuardianConfig(file));
    expect(new Set(configs.map((c) => consensusConfig(c).consensusHash)).size).toBe(1);
    // The pins are computed here from the PEMs on disk, not taken from what init says it wrote.
    const written = [0, 1, 2, 3].map((i) => certificateFingerprint(readFileSync(join(out, `guardian-${i}`, 'tls-cert.pem'), 'utf8')));
    expect(new Set(written).size).toBe(4);
    for (const config of configs) {
      expect(config.federation.peers.map((p) => p.certFingerprint)).toEqual(written);
      expect(config.federation.roundDelayMs).toBe(20);
      expect(config.federation.roundsPerSession).toBe(100);
      // Its own certificate is the one the others pin for it, and the key matches it (checked by transportIdentity and by TLS).
      const identity = transportIdentity(config);
      expect(identity.peers.map((p) => p.certFingerprint)).toEqual(written.filter((_, i) => i !== config.peer));
      expect(() => createSecureContext({ cert: identity.certPem, key: identity.keyPem })).not.toThrow();
    }
  });

  it('keeps the keys private: config and TLS key are 0600', async () => {
    const out = tempDir();
    await initFour(out);
    for (let i = 0; i < 4; i++) {
      expect(statSync(join(out, `guardian-${i}`, 'config.json')).mode & 0o777).toBe(0o600);
      expect(statSync(join(out, `guardian-${i}`, 'tls-key.pem')).mode & 0o777).toBe(0o600);
    }
  });

  it('gives guardian i P2P on 8173 + 2i and its API on 8174 + 2i on loopback, and names every member of the federation', async () => {
    const configs = (await initFour(tempDir())).configFiles.map((file) => loadGuardianConfig(file));
    for (const [i, config] of configs.entries()) {
      expect(config.p2p).toEqual({ host: '127.0.0.1', port: 8173 + 2 * i });
      expect(config.api.port).toBe(8174 + 2 * i);
      expect(config.api.host).toBe('127.0.0.1');
      expect(config.federation.peers.map((p) => [p.p2pUrl, p.apiUrl])).toEqual([0, 1, 2, 3].map((j) => [`127.0.0.1:${8173 + 2 * j}`, `http://127.0.0.1:${8174 + 2 * j}`]));
    }
  });

  it('shifts every port with --base-port, names each guardian by its own host, and binds the --bind address', async () => {
    const hosts = 'guardian-0,guardian-1,guardian-2,guardian-3';
    const configs = (await initFour(tempDir(), { host: hosts, bind: '0.0.0.0', basePort: 9000 })).configFiles.map((file) => loadGuardianConfig(file));
    expect(configs[3]!.p2p).toEqual({ host: '0.0.0.0', port: 9006 });
    expect(configs[3]!.api).toMatchObject({ host: '0.0.0.0', port: 9007 });
    expect(configs[0]!.federation.peers.map((p) => p.p2pUrl)).toEqual(['guardian-0:9000', 'guardian-1:9002', 'guardian-2:9004', 'guardian-3:9006']);
    expect(configs[0]!.federation.peers.map((p) => p.apiUrl)).toEqual(['http://guardian-0:9001', 'http://guardian-1:9003', 'http://guardian-2:9005', 'http://guardian-3:9007']);
  });

  it('refuses a host list that is not one host per guardian', async () => {
    await expect(makeFederationCertificates(4, 'a,b,c')).rejects.toThrow(/exactly 4/);
  });

  it('never overwrites: an existing TLS key stops init before anything is written', async () => {
    const out = tempDir();
    const certificates = await makeFederationCertificates(4);
    initFederation({ peers: 4, out: join(out, 'x'), certificates });
    const key = join(out, 'x', 'guardian-2', 'tls-key.pem');
    rmSync(join(out, 'x', 'guardian-2', 'config.json'));
    writeFileSync(key, 'precious');
    for (const i of [0, 1, 3]) rmSync(join(out, 'x', `guardian-${i}`), { recursive: true });
    expect(() => initFederation({ peers: 4, out: join(out, 'x'), certificates })).toThrow(/refusing to overwrite existing files: .*guardian-2\/tls-key\.pem/);
    expect(readFileSync(key, 'utf8')).toBe('precious');
    expect(existsSync(join(out, 'x', 'guardian-0'))).toBe(false);
  });

  it('refuses 2 and 3 guardians, and 4 without their certificates', async () => {
    for (const peers of [2, 3]) {
      const certificates = await makeFederationCertificates(peers);
      expect(() => initFederation({ peers, out: tempDir(), certificates })).toThrow(/--peers \d: a federation has 1 guardian, or 4 or more \(2 and 3 tolerate no faulty guardian\)/);
    }
    expect(() => initFederation({ peers: 4, out: tempDir() })).toThrow(/needs 4 TLS certificates/);
  });

  it('is what the `fedlog init` command runs', () => {
    const out = tempDir();
    const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const printed = execFileSync(process.execPath, ['--import', 'tsx', main, 'init', '--peers', '4', '--out', out, '--rounds-per-session', '7'], { encoding: 'utf8' });
    expect(printed.match(/^guardian \d: /gm)).toHaveLength(4);
    expect(loadGuardianConfig(join(out, 'guardian-3', 'config.json')).federation.roundsPerSession).toBe(7);
  });

  it('leaves a single guardian as it was: no certificate, no pin, no tls section', () => {
    const out = tempDir();
    const { configFiles } = initFederation({ peers: 1, out });
    const config = loadGuardianConfig(configFiles[0]!);
    expect(config.tls).toBeUndefined();
    expect(config.federation.peers[0]!.certFingerprint).toBeUndefined();
    expect(existsSync(join(out, 'guardian-0', 'tls-cert.pem'))).toBe(false);
  });
});
