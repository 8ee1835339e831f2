import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followCommand, type FollowOptions } from '../../src/cli/followCommand.ts';
import { initFederation, makeFederationCertificates } from '../../src/cli/initCommand.ts';
import { loadGuardianConfig } from '../../src/consensus/config.ts';
import { logLocation } from '../../src/consensus/guardian.ts';

/** `fedlog follow`'s options, parsed by the command itself, resolve to what the replica is started with. */

const dir = mkdtempSync(join(tmpdir(), 'fedlog-follow-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLUSTER = 'esdb://node1:2113,node2:2113,node3:2113?tls=false';

async function parse(args: string[]): Promise<FollowOptions> {
  let started: FollowOptions | undefined;
  await followCommand(async (options) => {
    started = options;
  })
    .exitOverride()
    .parseAsync(args, { from: 'user' });
  if (started === undefined) throw new Error('the command started nothing');
  return started;
}

describe('fedlog follow', () => {
  it("resolves --log and --stream-prefix to the guardian's own log location, as its config names it", async () => {
    const config = loadGuardianConfig(initFederation({ peers: 1, out: join(dir, 'cluster'), log: CLUSTER }).configFiles[0]!);
    const guardianLog = logLocation(config);
    expect(guardianLog.kind).toBe('eventstoredb');
    const prefix = (guardianLog as { streamPrefix: string }).streamPrefix;
    // Given as the config writes it, and without its final '/'.
    for (const given of [prefix, prefix.slice(0, -1)]) {
      expect(await parse(['--log', CLUSTER, '--stream-prefix', given, '--keys', 'federation.json', '--port', '8300'])).toEqual({
        target: { mode: 'cluster', location: guardianLog, keysFile: 'federation.json' },
        port: 8300,
        host: '127.0.0.1',
        logLevel: 'info',
      });
    }
  });

  it("resolves --guardian i to the prefix fedlog init gave guardian i, from the trusted keys", async () => {
    const certificates = await makeFederationCertificates(4);
    const configs = initFederation({ peers: 4, out: join(dir, 'four'), log: CLUSTER, certificates }).configFiles.map((file) => loadGuardianConfig(file));
    const keysFile = join(dir, 'four-keys.json');
    writeFileSync(keysFile, JSON.stringify(Object.fromEntries(configs[0]!.federation.peers.map((p) => [String(p.id), p.pubkey]))));
    for (const [i, config] of configs.entries()) {
      expect((await parse(['--log', CLUSTER, '--guardian', String(i), '--keys', keysFile])).target).toEqual({ mode: 'cluster', location: logLocation(config), keysFile });
    }
  });

  it('still follows a guardian through its API with --from and --data', async () => {
    expect((await parse(['--from', 'http://127.0.0.1:8174', '--data', 'replica-data'])).target).toEqual({ mode: 'guardian', from: 'http://127.0.0.1:8174', dataDir: 'replica-data' });
  });

  it('refuses options that name no one source, or a cluster it cannot read safely', async () => {
    await expect(parse(['--data', 'd'])).rejects.toThrow('one of the two');
    await expect(parse(['--from', 'http://g:8174', '--data', 'd', '--log', CLUSTER])).rejects.toThrow('one of the two');
    await expect(parse(['--from', 'http://g:8174'])).rejects.toThrow('--from needs --data');
    await expect(parse(['--log', CLUSTER, '--keys', 'k.json'])).rejects.toThrow("--log needs the guardian's stream prefix");
    await expect(parse(['--log', CLUSTER, '--keys', 'k.json', '--guardian', '0', '--stream-prefix', 'fed-1/guardian-0/'])).rejects.toThrow("--log needs the guardian's stream prefix");
    await expect(parse(['--log', CLUSTER, '--stream-prefix', 'fed-1/guardian-0/'])).rejects.toThrow('--log needs --keys');
    await expect(parse(['--log', 'http://node1:2113', '--stream-prefix', 'fed-1/guardian-0/', '--keys', 'k.json'])).rejects.toThrow('expected an esdb://');
    await expect(parse(['--log', CLUSTER, '--stream-prefix', '$all', '--keys', 'k.json'])).rejects.toThrow("expected a prefix ending with '/'");
  });
});
