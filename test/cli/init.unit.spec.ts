import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { initFederation } from '../../src/cli/initCommand.ts';
import { ConfigError, consensusConfig, loadGuardianConfig, parseGuardianConfig } from '../../src/consensus/config.ts';
import { FederationMismatchError, startGuardian } from '../../src/consensus/guardian.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-init-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('fedlog init and the guardian config', () => {
  it('writes a private, loadable config with the port pair 8173 + 2i / 8174 + 2i', () => {
    const out = tempDir();
    const { configFiles } = initFederation({ peers: 1, out });
    expect(configFiles).toEqual([join(out, 'guardian-0', 'config.json')]);
    expect(statSync(configFiles[0]!).mode & 0o777).toBe(0o600);
    const config = loadGuardianConfig(configFiles[0]!);
    expect(config.api.port).toBe(8174);
    expect(config.p2p.port).toBe(8173);
    expect(config.dataDir).toBe(join(out, 'guardian-0'));
    expect(consensusConfig(config).consensusHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the API front thread a raised priority by default, and refuses one that is not a nice value', () => {
    const { configFiles } = initFederation({ peers: 1, out: tempDir() });
    expect(loadGuardianConfig(configFiles[0]!).api.frontPriority).toBe(-10);
    const raw = JSON.parse(readFileSync(configFiles[0]!, 'utf8')) as { api: Record<string, unknown> };
    expect(parseGuardianConfig({ ...raw, api: { ...raw.api, frontPriority: 0 } }).api.frontPriority).toBe(0);
    for (const frontPriority of [-21, 20, 1.5, '-10']) {
      expect(() => parseGuardianConfig({ ...raw, api: { ...raw.api, frontPriority } })).toThrow(ConfigError);
      expect(() => parseGuardianConfig({ ...raw, api: { ...raw.api, frontPriority } })).toThrow(/frontPriority/);
    }
  });

  it('refuses to overwrite an existing config', () => {
    const out = tempDir();
    initFederation({ peers: 1, out });
    const before = readFileSync(join(out, 'guardian-0', 'config.json'), 'utf8');
    expect(() => initFederation({ peers: 1, out })).toThrow(/refusing to overwrite/);
    expect(readFileSync(join(out, 'guardian-0', 'config.json'), 'utf8')).toBe(before);
  });

  it('refuses federations of 2 or 3 guardians, in init and in the config', () => {
    expect(() => initFederation({ peers: 2, out: tempDir() })).toThrow(/2 and 3/);
    expect(() => initFederation({ peers: 3, out: tempDir() })).toThrow(/2 and 3/);
    const raw = JSON.parse(readFileSync(initFederation({ peers: 1, out: tempDir() }).configFiles[0]!, 'utf8')) as { federation: { peers: { id: number }[] } };
    raw.federation.peers = [0, 1, 2].map((id) => ({ ...raw.federation.peers[0]!, id }));
    expect(() => parseGuardianConfig(raw)).toThrow(ConfigError);
    expect(() => parseGuardianConfig(raw)).toThrow(/3 guardians is not supported/);
  });

  it('rejects a secret key that does not belong to the configured peer', () => {
    const { configFiles } = initFederation({ peers: 1, out: tempDir() });
    const raw = JSON.parse(readFileSync(configFiles[0]!, 'utf8')) as { secretKey: string };
    raw.secretKey = '00'.repeat(31) + '05';
    expect(() => parseGuardianConfig(raw)).toThrow(/does not belong to peer 0/);
  });

  it('records the federation once and refuses to start on the same log with a different consensus config', async () => {
    const { configFiles } = initFederation({ peers: 1, out: tempDir(), sessionSeconds: 60 });
    const config = loadGuardianConfig(configFiles[0]!);
    const logger = pino({ level: 'silent' });
    const first = await startGuardian(config, { logger, signatureWorkers: 0 });
    await first.stop();
    // A local setting (the API port) may change between starts...
    const again = await startGuardian({ ...config, api: { ...config.api, port: 9999 } }, { logger, signatureWorkers: 0 });
    expect(again.currentSession()).toBe(0);
    await again.stop();
    // ...a consensus one may not.
    const changed = { ...config, federation: { ...config.federation, sessionSeconds: 5 } };
    await expect(startGuardian(changed, { logger, signatureWorkers: 0 })).rejects.toThrow(FederationMismatchError);
    await expect(startGuardian(changed, { logger, signatureWorkers: 0 })).rejects.toThrow(/differs in: sessionSeconds/);
  });
});
