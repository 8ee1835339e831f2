import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { followCommand, type FollowOptions } from '../../src/cli/followCommand.ts';
import { consensusConfig, loadGuardianConfig, transportIdentity, type GuardianConfig } from '../../src/consensus/config.ts';
import { logLocation } from '../../src/consensus/guardian.ts';
import { certificateFingerprint } from '../../src/consensus/transport/certificates.ts';
import { createEventStoreDbLog } from '../../src/streams/eventStoreDb.ts';

/**
 * No Docker engine runs where these tests run, so the deployment files are checked by a real YAML
 * parser and by reading the Dockerfile: the cluster is wired consistently (seeds, size, addresses),
 * the four guardians' configs (written by init's own command) load and agree, and every name a
 * service refers to is declared. `docker-compose config -q` (v1) also accepts the file.
 */

const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..');
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  hostname?: string;
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  volumes?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, { ipam?: { config?: { subnet: string }[] } } | null>;
  volumes?: Record<string, unknown>;
}

const NODE_PORT = '2113';
const esdbNodes = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('eventstore/eventstore:'));
const nodeNames = esdbNodes.map(([name]) => name);
const env = (service: Service, key: string) => service.environment?.[key];

describe('docker-compose.yml: the EventStoreDB cluster', () => {
  it('has three EventStoreDB nodes of a 24.x image or later', () => {
    expect(nodeNames).toHaveLength(3);
    for (const [, node] of esdbNodes) expect(Number(node.image!.split(':')[1]!.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('gives every node cluster size 3, insecure mode on the private network, and gossip seeds naming exactly the other nodes', () => {
    for (const [name, node] of esdbNodes) {
      expect(env(node, 'EVENTSTORE_CLUSTER_SIZE')).toBe('3');
      expect(env(node, 'EVENTSTORE_INSECURE')).toBe('true');
      expect(env(node, 'EVENTSTORE_DISCOVER_VIA_DNS')).toBe('false');
      expect(env(node, 'EVENTSTORE_NODE_PORT')).toBe(NODE_PORT);
      const seeds = env(node, 'EVENTSTORE_GOSSIP_SEED')!.split(',');
      expect(seeds.map((seed) => seed.split(':')[1])).toEqual(seeds.map(() => NODE_PORT));
      expect(seeds.map((seed) => seed.split(':')[0]).sort()).toEqual(nodeNames.filter((other) => other !== name).sort());
      expect(node.hostname).toBe(name);
      expect(env(node, 'EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS')).toBe(name);
    }
  });

  it('binds each node to its own fixed address inside the declared subnet', () => {
    const addresses = esdbNodes.map(([, node]) => {
      const networks = node.networks as Record<string, { ipv4_address?: string }>;
      const [networkName, attachment] = Object.entries(networks)[0]!;
      const subnet = compose.networks?.[networkName]?.ipam?.config?.[0]?.subnet;
      expect(subnet, `network ${networkName} declares a subnet`).toBeDefined();
      const address = attachment.ipv4_address!;
      expect(address.split('.').slice(0, 3).join('.')).toBe(subnet!.split('/')[0]!.split('.').slice(0, 3).join('.'));
      expect(env(node, 'EVENTSTORE_NODE_IP')).toBe(address);
      expect(env(node, 'EVENTSTORE_REPLICATION_IP')).toBe(address);
      return address;
    });
    expect(new Set(addresses).size).toBe(3);
  });

  it('keeps data and logs of every node on their own named volumes, and checks health', () => {
    const mounts = esdbNodes.flatMap(([, node]) => node.volumes!.map((v) => v.split(':')[0]!));
    expect(new Set(mounts).size).toBe(mounts.length);
    for (const [, node] of esdbNodes) {
      expect(node.volumes!.map((v) => v.split(':')[1])).toEqual(['/var/lib/eventstore', '/var/log/eventstore']);
      expect(node.healthcheck!.test.join(' ')).toContain(`:${NODE_PORT}/health/live`);
    }
  });

  it('publishes no EventStoreDB port to the host (insecure mode stays private)', () => {
    for (const [, node] of esdbNodes) expect(node.ports).toBeUndefined();
  });
});

describe('docker-compose.yml: the federation of four', () => {
  const guardians = [0, 1, 2, 3].map((i) => compose.services[`guardian-${i}`]!);
  const init = compose.services.init!;

  it('has an init service and guardian-0..3, all built from the Dockerfile in the repository', () => {
    expect(Object.keys(compose.services).filter((name) => name.startsWith('guardian')).sort()).toEqual(['guardian-0', 'guardian-1', 'guardian-2', 'guardian-3']);
    for (const service of [init, ...guardians]) {
      expect(service.build?.context).toBe('.');
      expect(existsSync(join(repoRoot, service.build!.dockerfile ?? 'Dockerfile'))).toBe(true);
    }
  });

  it('starts every guardian only after init completed and the cluster is healthy, with `fedlog run` on the config in its own volume', () => {
    for (const [i, guardian] of guardians.entries()) {
      expect(guardian.depends_on).toEqual({
        init: { condition: 'service_completed_successfully' },
        ...Object.fromEntries(nodeNames.map((node) => [node, { condition: 'service_healthy' }])),
      });
      expect(guardian.command).toEqual(['run', '--config', '/data/config.json']);
      expect(guardian.volumes).toEqual([`guardian-${i}-data:/data`]);
      expect(guardian.hostname).toBe(`guardian-${i}`);
    }
  });

  it("publishes guardian i's P2P (8173 + 2i) and API (8174 + 2i) ports unchanged, and health-checks its API", () => {
    for (const [i, guardian] of guardians.entries()) {
      expect(guardian.ports).toEqual([`${8173 + 2 * i}:${8173 + 2 * i}`, `${8174 + 2 * i}:${8174 + 2 * i}`]);
      expect(guardian.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${8174 + 2 * i}/v1/`);
    }
  });

  it("gives init every guardian's volume, and each guardian only its own (a guardian sees no other's secrets)", () => {
    expect(init.volumes).toEqual([0, 1, 2, 3].map((i) => `guardian-${i}-data:/federation/guardian-${i}`));
    const mounted = guardians.flatMap((g) => g.volumes!.map((v) => v.split(':')[0]));
    expect(new Set(mounted).size).toBe(4);
  });

  describe('the configs init writes, as each guardian container loads them', () => {
    let out: string;
    let configs: GuardianConfig[];
    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), 'fedlog-compose-'));
      expect(init.entrypoint).toEqual(['sh', '-c']);
      const [script] = init.command as [string];
      const [guard, run] = script.split(' || exec ') as [string, string];
      // The guard names a file init writes: a second `up` must skip init, not fail on its refusal to overwrite.
      expect(guard).toBe('[ -f /federation/guardian-3/config.json ]');
      const [program, entry, ...args] = run.split(' ');
      expect([program, entry]).toEqual(['node_modules/.bin/tsx', 'src/cli/main.ts']);
      // The real command, with /federation (the mounted volumes) moved to a temporary directory.
      execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, entry!), ...args.map((arg) => arg.replace(/^\/federation$/, out))], { cwd: repoRoot, encoding: 'utf8' });
      // guardian-i mounts the volume init saw at /federation/guardian-i as /data.
      configs = [0, 1, 2, 3].map((i) => loadGuardianConfig(join(out, `guardian-${i}`, 'config.json')));
    });
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('loads, binds 0.0.0.0 on the published ports, and agrees on one consensus hash', () => {
      for (const [i, config] of configs.entries()) {
        expect(config.peer).toBe(i);
        expect(config.p2p).toEqual({ host: '0.0.0.0', port: 8173 + 2 * i });
        expect(config.api).toMatchObject({ host: '0.0.0.0', port: 8174 + 2 * i });
        expect(config.dataDir).toBe(join(out, `guardian-${i}`));
      }
      expect(new Set(configs.map((c) => consensusConfig(c).consensusHash)).size).toBe(1);
    });

    it('names every peer by its service name, the address compose resolves on the federation network', () => {
      for (const config of configs) {
        expect(config.federation.peers.map((p) => p.p2pUrl)).toEqual([0, 1, 2, 3].map((i) => `guardian-${i}:${8173 + 2 * i}`));
        expect(config.federation.peers.map((p) => p.apiUrl)).toEqual([0, 1, 2, 3].map((i) => `http://guardian-${i}:${8174 + 2 * i}`));
      }
      for (const guardian of guardians) expect(guardian.networks).toEqual(['federation', 'esdb']);
    });

    it('puts every guardian\'s log in the three-node cluster, each under a stream prefix of its own', async () => {
      const esdbNetwork = Object.keys(esdbNodes[0]![1].networks as Record<string, unknown>)[0]!;
      const prefixes = configs.map((config, i) => {
        // What `fedlog run` opens: startGuardian's own choice of log for this config.
        const location = logLocation(config);
        if (location.kind !== 'eventstoredb') throw new Error(`guardian ${i} would log to ${location.kind}, not the cluster`);
        const [scheme, rest] = location.url.split('://') as [string, string];
        const [hosts, query] = rest.split('?') as [string, string | undefined];
        expect(scheme).toBe('esdb');
        // Every node of the cluster is a seed, by the name compose resolves on the network both join.
        expect(hosts.split(',').sort()).toEqual(nodeNames.map((node) => `${node}:${NODE_PORT}`).sort());
        expect(new URLSearchParams(query).get('tls')).toBe('false');
        expect(guardians[i]!.networks).toContain(esdbNetwork);
        expect(location.streamPrefix).toMatch(new RegExp(`^fed-[0-9a-f]{8}/guardian-${i}/$`));
        return location.streamPrefix!;
      });
      // One federation tag, four prefixes of which none starts another (the adapter filters by prefix).
      expect(new Set(prefixes.map((prefix) => prefix.split('/')[0])).size).toBe(1);
      for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(b.startsWith(a)).toBe(false);
      // The real client accepts the connection string (it parses it here and connects on first use).
      const first = logLocation(configs[0]!);
      if (first.kind === 'eventstoredb') await createEventStoreDbLog(first.url, { streamPrefix: first.streamPrefix! }).close();
    });

    it("runs replica-0 on guardian 0's own streams in the cluster, with the keys guardian 0 publishes, as `fedlog follow` parses its options", async () => {
      const replica = compose.services['replica-0']!;
      expect(replica.build?.context).toBe('.');
      expect(replica.depends_on).toEqual({ 'guardian-0': { condition: 'service_healthy' } });
      expect(replica.networks).toEqual(['federation', 'esdb']);
      expect(replica.ports).toEqual(['8274:8274']);
      expect(replica.volumes).toEqual(['replica-0-data:/data']);
      expect(replica.entrypoint).toEqual(['sh', '-c']);
      const [script] = replica.command as [string];
      const [fetchKeys, run] = script.split(' && exec ') as [string, string];
      // First start: guardian 0's published federation (GET /v1/federation, at the address its peers use) into the file --keys names.
      expect(fetchKeys).toContain(`fetch('${configs[0]!.federation.peers[0]!.apiUrl}/v1/federation')`);
      expect(fetchKeys).toMatch(/^\[ -f \/data\/federation\.json \] \|\| node -e /);
      expect(fetchKeys).toContain("writeFileSync('/data/federation.json'");
      const [program, entry, command, ...args] = run.split(' ');
      expect([program, entry, command]).toEqual(['node_modules/.bin/tsx', 'src/cli/main.ts', 'follow']);
      // The keys file as guardian 0 would answer it.
      const keysFile = join(out, 'replica-federation.json');
      writeFileSync(keysFile, JSON.stringify({ peers: configs[0]!.federation.peers.map(({ id, pubkey, apiUrl }) => ({ id, pubkey, apiUrl })), threshold: 3, consensusHash: consensusConfig(configs[0]!).consensusHash }));
      let started: FollowOptions | undefined;
      await followCommand(async (options) => {
        started = options;
      })
        .exitOverride()
        .parseAsync(args.map((arg) => (arg === '/data/federation.json' ? keysFile : arg)), { from: 'user' });
      expect(started).toEqual({ target: { mode: 'cluster', location: logLocation(configs[0]!), keysFile }, port: 8274, host: '0.0.0.0', logLevel: 'info' });
    });

    it("pins every guardian's real certificate, and each guardian presents its own (its key in its own volume)", () => {
      const pins = [0, 1, 2, 3].map((i) => certificateFingerprint(readFileSync(join(out, `guardian-${i}`, 'tls-cert.pem'), 'utf8')));
      for (const config of configs) {
        expect(config.federation.peers.map((p) => p.certFingerprint)).toEqual(pins);
        expect(transportIdentity(config).peers.map((p) => p.host)).toEqual([0, 1, 2, 3].filter((i) => i !== config.peer).map((i) => `guardian-${i}`));
      }
    });
  });
});

const composeBinary = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((file) => existsSync(file));
if (composeBinary === undefined) console.log('[compose] docker-compose (v1) is not installed: the file was checked by the YAML parser only (apt-get install docker-compose to render it too)');

describe.skipIf(composeBinary === undefined)('docker-compose.yml as docker-compose renders it', () => {
  it('renders (docker-compose config), and the rendered guardians still join the cluster and init still names it', () => {
    const rendered = parse(execFileSync(composeBinary!, ['-f', join(repoRoot, 'docker-compose.yml'), 'config'], { cwd: repoRoot, encoding: 'utf8' })) as Compose;
    for (let i = 0; i < 4; i++) {
      const guardian = rendered.services[`guardian-${i}`]!;
      const networks = Array.isArray(guardian.networks) ? guardian.networks : Object.keys(guardian.networks ?? {});
      expect(networks.sort()).toEqual(['esdb', 'federation']);
      expect(Object.keys(guardian.depends_on ?? {}).sort()).toEqual(['init', 'node1', 'node2', 'node3']);
    }
    expect(rendered.services.init!.command!.join(' ')).toContain('--log esdb://node1:2113,node2:2113,node3:2113?tls=false');
    const replica = rendered.services['replica-0']!;
    expect(Object.keys(replica.networks ?? {}).sort()).toEqual(['esdb', 'federation']);
    expect(replica.command!.join(' ')).toContain('follow --log esdb://node1:2113,node2:2113,node3:2113?tls=false --guardian 0 --keys /data/federation.json');
  });
});

describe('docker-compose.yml: references', () => {
  it('declares every service, network and volume that is referred to, and uses every declared one', () => {
    const services = Object.keys(compose.services);
    const usedNetworks = new Set<string>();
    const usedVolumes = new Set<string>();
    for (const service of Object.values(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(services).toContain(dependency);
      const networks = Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});
      for (const network of networks) usedNetworks.add(network);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) usedVolumes.add(source);
      }
    }
    expect([...usedNetworks].sort()).toEqual(Object.keys(compose.networks ?? {}).sort());
    expect([...usedVolumes].sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages = instructions.filter((line) => line.startsWith('FROM '));
  const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

  it('builds on node:20 (bookworm slim) in every stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(1);
    for (const from of stages) expect(from).toMatch(/^FROM node:20-bookworm-slim\b/);
  });

  it('installs from the lockfile with npm ci, with the native build tools only in a builder stage', () => {
    expect(instructions.some((line) => /^RUN .*npm ci\b/.test(line))).toBe(true);
    expect(dockerfile).toMatch(/python3 make g\+\+/);
    expect(finalStage.join('\n')).not.toMatch(/g\+\+|apt-get install/);
  });

  it('runs as a non-root user with a data volume', () => {
    const users = finalStage.filter((line) => line.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER (root|0)(:|$)/);
    expect(finalStage).toContain('VOLUME ["/data"]');
  });

  it("owns init's mount points (/federation/guardian-<i>) as the unprivileged user, so fresh volumes are writable by init and readable by the guardians", () => {
    const prepare = finalStage.join(' ').replace(/\\ +/g, ' ');
    for (let i = 0; i < 4; i++) expect(prepare).toContain(`/federation/guardian-${i}`);
    expect(prepare).toMatch(/chown -R node:node \/data \/federation/);
  });

  it('starts the CLI through tsx and exposes the guardian ports', () => {
    expect(finalStage).toContain('ENTRYPOINT ["node_modules/.bin/tsx", "src/cli/main.ts"]');
    expect(finalStage).toContain('EXPOSE 8173 8174');
    expect(finalStage).toContain('CMD ["run", "--config", "/data/config.json"]');
  });

  it('keeps the host node_modules and git history out of the build context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git']));
  });
});
