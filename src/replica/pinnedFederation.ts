/**
 * The federation a replica trusts: its keys, threshold and consensus hash, pinned in the replica's
 * data directory (`federation.json`) on first start, from `--keys` or from the guardian's
 * GET /v1/federation, and held against every later start. A guardian that names other keys or
 * another consensus hash is refused: the replica trusts signatures made by the pinned keys, never
 * the guardian's word about whose signatures count.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { threshold as thresholdOf, type FederationKeys } from '../domain/federation.ts';
import { hexToBytes } from '../domain/hashing.ts';
import type { FederationConfigured } from '../streams/events.ts';
import { federationConfiguredProblems } from '../streams/federationConfiguredCheck.ts';
import type { FederationAnswer } from './guardianFeed.ts';

export interface PinnedFederation {
  /** Where the keys came from on first start. */
  origin: 'keys file' | 'guardian';
  peers: { id: number; pubkey: string; apiUrl: string }[];
  threshold: number;
  consensusHash: string;
  modules: { wallet: { withdrawFeeMsat: string } };
}

/** The guardian describes another federation than the one pinned (or than --keys names). */
export class FederationMismatchError extends Error {
  override readonly name = 'FederationMismatchError';
}

const PIN_FILE = 'federation.json';
const hexKey = z.string().regex(/^[0-9a-f]{64}$/);
const pinSchema = z.object({
  origin: z.enum(['keys file', 'guardian']),
  peers: z.array(z.object({ id: z.number().int().min(0).max(0xffff), pubkey: hexKey, apiUrl: z.string() })).min(1),
  threshold: z.number().int().min(1),
  consensusHash: hexKey,
  modules: z.object({ wallet: z.object({ withdrawFeeMsat: z.string() }) }),
});
/** As `fedlog verify --keys` reads them: `{ "<peer>": hex }` or a saved GET /v1/federation answer. */
const keysFileSchema = z.union([
  z.record(z.string().regex(/^(0|[1-9][0-9]*)$/), hexKey),
  z.object({ peers: z.array(z.object({ id: z.number().int().min(0), pubkey: hexKey })).min(1) }).transform((answer) => Object.fromEntries(answer.peers.map((p) => [String(p.id), p.pubkey]))),
]);

export function federationKeysOf(pinned: PinnedFederation): FederationKeys {
  return new Map(pinned.peers.map((p) => [p.id, hexToBytes(p.pubkey)]));
}

/**
 * The pin in `dataDir`, after checking the guardian's description against it; on first start the
 * description is checked against `keysFile` (when given) and pinned.
 */
export function pinFederation(dataDir: string, served: FederationAnswer, keysFile?: string): PinnedFederation {
  const file = join(dataDir, PIN_FILE);
  const needed = thresholdOf(served.peers.length);
  if (served.threshold !== needed) throw new FederationMismatchError(`the guardian states threshold ${served.threshold}, but ${served.peers.length} guardians need ${needed}`);
  const servedKeys = Object.fromEntries(served.peers.map((p) => [String(p.id), p.pubkey]));
  if (existsSync(file)) {
    const pinned = pinSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    if (served.consensusHash !== pinned.consensusHash) {
      throw new FederationMismatchError(`the guardian runs the federation with consensus hash ${served.consensusHash}, but this replica follows ${pinned.consensusHash} (${file}); use a new data directory to follow another federation`);
    }
    mustMatch(Object.fromEntries(pinned.peers.map((p) => [String(p.id), p.pubkey])), servedKeys, `the keys pinned in ${file}`);
    return pinned;
  }
  if (keysFile !== undefined) mustMatch(readKeysFile(keysFile), servedKeys, `the keys of ${keysFile}`);
  const pinned: PinnedFederation = {
    origin: keysFile === undefined ? 'guardian' : 'keys file',
    peers: served.peers.map(({ id, pubkey, apiUrl }) => ({ id, pubkey, apiUrl })),
    threshold: served.threshold,
    consensusHash: served.consensusHash,
    modules: { wallet: { withdrawFeeMsat: served.modules.wallet.withdrawFeeMsat } },
  };
  writeFileSync(file, JSON.stringify(pinned, null, 2) + '\n', { flag: 'wx' });
  return pinned;
}

/**
 * A cluster replica's federation: the FederationConfigured the guardian recorded in its log, held
 * against `keysFile` (required: with no data directory of its own, the replica pins nothing, so the
 * keys it trusts are always the operator's). The event must be the hash of its own fields, so no
 * edited threshold or fee passes under the federation's hash.
 */
export function federationFromLog(recorded: FederationConfigured, keysFile: string): PinnedFederation {
  const problems = federationConfiguredProblems(recorded);
  if (problems.length > 0) throw new FederationMismatchError(`the log's federation configuration does not hold: ${problems.join('; ')}`);
  mustMatch(readKeysFile(keysFile), recorded.keys, `the keys of ${keysFile}`);
  return {
    origin: 'keys file',
    peers: recorded.peers.map(({ id, pubkey, apiUrl }) => ({ id, pubkey, apiUrl })),
    threshold: recorded.threshold,
    consensusHash: recorded.consensusHash,
    modules: { wallet: { withdrawFeeMsat: recorded.modules.wallet.withdrawFeeMsat } },
  };
}

/** The keys a file names, `{ "<peer>": hex }` by peer; FederationMismatchError when it names none readably. */
export function readKeysFile(file: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FederationMismatchError(`cannot read keys file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = keysFileSchema.safeParse(raw);
  if (!parsed.success) throw new FederationMismatchError(`keys file ${file} is neither { "<peer>": "<hex key>" } nor a /v1/federation answer`);
  return parsed.data;
}

function mustMatch(trusted: Record<string, string>, served: Record<string, string>, what: string): void {
  const peers = [...new Set([...Object.keys(trusted), ...Object.keys(served)])].sort((a, b) => Number(a) - Number(b));
  const differences = peers.filter((peer) => trusted[peer] !== served[peer]).map((peer) => `peer ${peer}: ${served[peer] ?? 'absent'} instead of ${trusted[peer] ?? 'absent'}`);
  if (differences.length > 0) throw new FederationMismatchError(`the guardian's federation keys are not ${what}: ${differences.join('; ')}`);
}
