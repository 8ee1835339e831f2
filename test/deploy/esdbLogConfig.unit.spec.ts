import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initFederation, InitError } from '../../src/cli/initCommand.ts';
import { ConfigError, loadGuardianConfig, parseGuardianConfig } from '../../src/consensus/config.ts';
import { logLocation } from '../../src/consensus/guardian.ts';

/** A guardian config naming an EventStoreDB log: what `fedlog init --log` writes and what the loader accepts. */

const dir = mkdtempSync(join(tmpdir(), 'fedlog-esdb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLUSTER = 'esdb://node1:2113,node2:2113,node3:2113?tls=false';

describe('fedlog init --log esdb://...', () => {
  it('writes the cluster and a prefix of its own into each config, under one federation tag', () => {
    const { configFiles } = initFederation({ peers: 1, out: join(dir, 'one'), log: CLUSTER });
    const config = loadGuardianConfig(configFiles[0]!);
    const pubkey = config.federation.peers[0]!.pubkey;
    expect(config.log).toEqual({ kind: 'eventstoredb', url: CLUSTER, streamPrefix: `fed-${pubkey.slice(0, 8)}/guardian-0/` });
    expect(logLocation(config)).toEqual({ kind: 'eventstoredb', url: CLUSTER, streamPrefix: `fed-${pubkey.slice(0, 8)}/guardian-0/` });
  });

  it('gives two federations on one cluster different prefixes', () => {
    const a = loadGuardianConfig(initFederation({ peers: 1, out: join(dir, 'a'), log: CLUSTER }).configFiles[0]!);
    const b = loadGuardianConfig(initFederation({ peers: 1, out: join(dir, 'b'), log: CLUSTER }).configFiles[0]!);
    expect(a.log).not.toEqual(b.log);
  });

  it('keeps SQLite in the data directory without --log', () => {
    const { configFiles } = initFederation({ peers: 1, out: join(dir, 'plain') });
    const config = loadGuardianConfig(configFiles[0]!);
    expect(logLocation(config)).toEqual({ kind: 'sqlite', path: join(dir, 'plain', 'guardian-0', 'log.sqlite') });
  });

  it('refuses a --log that is not an esdb:// connection string', () => {
    expect(() => initFederation({ peers: 1, out: join(dir, 'bad'), log: 'http://node1:2113' })).toThrow(InitError);
  });
});

describe('the config loader', () => {
  const written = () => JSON.parse(readFileSync(initFederation({ peers: 1, out: mkdtempSync(join(dir, 'c-')) }).configFiles[0]!, 'utf8')) as Record<string, unknown>;

  it('accepts an eventstoredb log without a prefix (a cluster of its own)', () => {
    expect(logLocation(parseGuardianConfig({ ...written(), log: { kind: 'eventstoredb', url: 'esdb://localhost:2113?tls=false' } }))).toEqual({ kind: 'eventstoredb', url: 'esdb://localhost:2113?tls=false' });
  });

  it.each([
    [{ kind: 'eventstoredb', url: 'node1:2113' }, /esdb:\/\//],
    [{ kind: 'eventstoredb', url: CLUSTER, streamPrefix: 'guardian-1' }, /ending with '\/'/],
    [{ kind: 'eventstoredb', url: CLUSTER, streamPrefix: '$guardian-1/' }, /not starting with '\$'/],
  ])('refuses %j with a readable reason', (log, reason) => {
    expect(() => parseGuardianConfig({ ...written(), log })).toThrow(ConfigError);
    expect(() => parseGuardianConfig({ ...written(), log })).toThrow(reason);
  });
});
