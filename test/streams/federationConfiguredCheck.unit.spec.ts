import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initFederation, makeFederationCertificates } from '../../src/cli/initCommand.ts';
import { consensusConfig, loadGuardianConfig } from '../../src/consensus/config.ts';
import { bytesToHex, sha256 } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import type { FederationConfigured } from '../../src/streams/events.ts';
import { federationConfiguredProblems, federationConsensusHash } from '../../src/streams/federationConfiguredCheck.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What a guardian of an `fedlog init` federation records as FederationConfigured. */
async function configuredFederation(peers: number): Promise<FederationConfigured> {
  const out = mkdtempSync(join(tmpdir(), 'fedlog-federation-check-'));
  dirs.push(out);
  const { configFiles } = initFederation({ peers, out, sessionSeconds: 60, certificates: await makeFederationCertificates(peers) });
  return consensusConfig(loadGuardianConfig(configFiles[0]!));
}

const federations = new Map<number, FederationConfigured>();
beforeAll(async () => {
  for (const peers of [1, 4]) federations.set(peers, await configuredFederation(peers));
});
const configured = (peers: number) => structuredClone(federations.get(peers)!);

describe('FederationConfigured against its own consensus hash', () => {
  it.each([1, 4])("recomputes the config's consensus hash from the recorded fields of %i guardian(s)", (peers) => {
    const event = configured(peers);
    // Four guardians pin certificates, which the hash covers; one does not.
    expect(event.peers.every((p) => p.certFingerprint !== undefined)).toBe(peers === 4);
    expect(federationConsensusHash(event)).toBe(event.consensusHash);
    expect(federationConfiguredProblems(event)).toEqual([]);
  });

  it('is another hash when any hashed field changes, and not when a local one (an API address, retention) does', () => {
    const event = configured(4);
    const other = bytesToHex(nobleBackend.publicKey(sha256(new TextEncoder().encode('another guardian'))));
    const edits: Array<(e: FederationConfigured) => void> = [
      (e) => (e.modules.wallet.withdrawFeeMsat = '0'),
      (e) => (e.threshold = 4),
      (e) => (e.sessionSeconds = 1),
      (e) => (e.roundDelayMs = 1),
      (e) => (e.roundsPerSession = 1),
      (e) => (e.keys['2'] = other),
      (e) => (e.peers[3]!.certFingerprint = '00'.repeat(32)),
    ];
    for (const edit of edits) {
      const edited = structuredClone(event);
      edit(edited);
      expect(federationConsensusHash(edited)).not.toBe(event.consensusHash);
      expect(federationConfiguredProblems(edited).join('\n')).toMatch(/consensusHash [0-9a-f]{64} is not the hash of the recorded fields/);
    }
    const local = structuredClone(event);
    local.peers[1]!.apiUrl = 'http://elsewhere:9000';
    local.checkpointRetention = 99;
    expect(federationConfiguredProblems(local)).toEqual([]);
  });

  it('names the edited fields when the config is at hand, and what the hash cannot tell', () => {
    const event = configured(4);
    const edited = structuredClone(event);
    edited.modules.wallet.withdrawFeeMsat = '0';
    edited.sessionSeconds = 5;
    const [problem] = federationConfiguredProblems(edited, event);
    expect(problem).toContain('modules.wallet.withdrawFeeMsat: recorded 0, configured 1000');
    expect(problem).toContain('sessionSeconds: recorded 5, configured 60');
    // A peer key changed in peers but not in keys leaves the hash alone, and the two disagree.
    const split = structuredClone(event);
    split.peers[2]!.pubkey = bytesToHex(nobleBackend.publicKey(sha256(new TextEncoder().encode('another guardian'))));
    expect(federationConfiguredProblems(split)).toEqual([expect.stringMatching(/^keys\.2 is [0-9a-f]{64}, but peers\.2\.pubkey is [0-9a-f]{64}$/)]);
  });
});
