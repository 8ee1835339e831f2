import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createEventStoreDbLog } from '../../src/streams/eventStoreDb.ts';

/**
 * No Docker engine runs where these tests run, so the deployment files are checked by a real YAML
 * parser and by reading the Dockerfile: the cluster is wired consistently (seeds, size, addresses),
 * the guardian reaches every node, and every name a service refers to is declared.
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
const guardian = compose.services.guardian;
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

describe('docker-compose.yml: the guardian', () => {
  it('is built from the Dockerfile in the repository', () => {
    expect(guardian?.build?.context).toBe('.');
    expect(existsSync(join(repoRoot, guardian!.build!.dockerfile ?? 'Dockerfile'))).toBe(true);
  });

  it('waits for every EventStoreDB node to be healthy', () => {
    expect(Object.keys(guardian!.depends_on!).sort()).toEqual([...nodeNames].sort());
    for (const dependency of Object.values(guardian!.depends_on!)) expect(dependency.condition).toBe('service_healthy');
  });

  it('connects to all three nodes at their node port, without TLS as the cluster is insecure', () => {
    // Not WHATWG URL: it refuses the comma-separated host list of an esdb:// cluster string.
    const match = /^esdb:\/\/([^/?]+)\/?\?(.*)$/.exec(env(guardian!, 'FEDLOG_ESDB_URL')!);
    expect(match).not.toBeNull();
    expect(new URLSearchParams(match![2]).get('tls')).toBe('false');
    const hosts = match![1]!.split(',');
    expect(hosts.map((h) => h.split(':')[0]).sort()).toEqual([...nodeNames].sort());
    expect(hosts.map((h) => h.split(':')[1])).toEqual(hosts.map(() => NODE_PORT));
  });

  it('gives a connection string the EventStoreDB client accepts', async () => {
    // Parsing only: the client connects lazily, and nothing listens here.
    const log = createEventStoreDbLog(env(guardian!, 'FEDLOG_ESDB_URL')!);
    await log.close();
  });

  it("publishes guardian 0's P2P (8173) and API (8174) ports unchanged, and health-checks the API", () => {
    expect(guardian!.ports).toEqual(['8173:8173', '8174:8174']);
    expect(guardian!.healthcheck!.test.join(' ')).toContain('127.0.0.1:8174/v1/');
  });

  it('runs `fedlog run` on a config kept in its data volume', () => {
    expect(guardian!.command).toEqual(['run', '--config', '/data/config.json']);
    expect(guardian!.volumes!.some((v) => v.split(':')[1] === '/data')).toBe(true);
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
