/**
 * `FederationConfigured` checked against itself (DESIGN.md, "The event log"): its consensusHash is
 * recomputed from the fields it covers, on every start, replay and verify. Without it, an edited
 * withdraw fee, threshold, session length or key in a copied log passes for the federation's: the
 * guardian only compared the recorded hash, which an editor leaves alone, with its config's.
 */
import { canonicalJson } from '../domain/canonicalJson.ts';
import { encodeFederationKeys, threshold as thresholdOf } from '../domain/federation.ts';
import { bytesToHex, hexToBytes, sha256 } from '../domain/hashing.ts';
import type { JsonValue } from '../domain/module.ts';
import type { FederationConfigured } from './events.ts';

/** The fields of FederationConfigured that its consensusHash covers (keys and certificate pins through `keys` and `peers`). */
export type ConsensusFields = Pick<FederationConfigured, 'keys' | 'peers' | 'threshold' | 'sessionSeconds' | 'roundDelayMs' | 'roundsPerSession' | 'modules'>;

/**
 * sha256 of the canonical JSON of the consensus fields: the definition `consensusConfig`
 * (src/consensus/config.ts) applies to a config, here applied to what a log recorded. Certificate
 * fingerprints are hashed only when some peer is pinned, so single-guardian hashes stay as they were.
 */
export function federationConsensusHash(fields: ConsensusFields): string {
  const keys = new Map(Object.entries(fields.keys).map(([peer, key]) => [Number(peer), hexToBytes(key)]));
  const pinned = fields.peers.filter((peer) => peer.certFingerprint !== undefined);
  const hashed: Record<string, JsonValue> = {
    keys: { ...fields.keys },
    threshold: fields.threshold,
    sessionSeconds: fields.sessionSeconds,
    roundDelayMs: fields.roundDelayMs,
    roundsPerSession: fields.roundsPerSession,
    modules: { wallet: { withdrawFeeMsat: fields.modules.wallet.withdrawFeeMsat }, mint: {} },
    federationKeys: bytesToHex(encodeFederationKeys(keys)),
  };
  if (pinned.length > 0) hashed.certFingerprints = Object.fromEntries(pinned.map((peer) => [String(peer.id), peer.certFingerprint!]));
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(hashed))));
}

/** The hashed fields by name, flattened (`modules.wallet.withdrawFeeMsat`, `keys.1`, `peers.2.certFingerprint`), for naming what differs. */
function hashedFieldValues(fields: ConsensusFields): Map<string, string> {
  const values = new Map<string, string>([
    ['threshold', String(fields.threshold)],
    ['sessionSeconds', String(fields.sessionSeconds)],
    ['roundDelayMs', String(fields.roundDelayMs)],
    ['roundsPerSession', String(fields.roundsPerSession)],
    ['modules.wallet.withdrawFeeMsat', fields.modules.wallet.withdrawFeeMsat],
  ]);
  for (const [peer, key] of Object.entries(fields.keys)) values.set(`keys.${peer}`, key);
  for (const peer of fields.peers) {
    values.set(`peers.${peer.id}.pubkey`, peer.pubkey);
    if (peer.certFingerprint !== undefined) values.set(`peers.${peer.id}.certFingerprint`, peer.certFingerprint);
  }
  return values;
}

/** `name: recorded X, configured Y` for every hashed field where the two differ. */
function differences(recorded: ConsensusFields, configured: ConsensusFields): string[] {
  const ours = hashedFieldValues(recorded);
  const theirs = hashedFieldValues(configured);
  const names = [...new Set([...ours.keys(), ...theirs.keys()])];
  return names.filter((name) => ours.get(name) !== theirs.get(name)).map((name) => `${name}: recorded ${ours.get(name) ?? 'none'}, configured ${theirs.get(name) ?? 'none'}`);
}

/**
 * What is wrong with a recorded FederationConfigured, one line each (empty: it holds): keys that
 * are not the peers' keys, a threshold other than n's, and a consensusHash that is not the hash
 * of its own fields. With `configured` (the guardian's config, when there is one) and the same
 * hash, the fields that differ from it are named: an edit of the log that left its hash alone.
 */
export function federationConfiguredProblems(recorded: FederationConfigured, configured?: FederationConfigured): string[] {
  const problems: string[] = [];
  const n = recorded.peers.length;
  const ids = recorded.peers.map((peer) => peer.id).sort((a, b) => a - b);
  if (ids.some((id, i) => id !== i)) problems.push(`peer ids are ${ids.join(', ')}, not 0..${n - 1}`);
  const keyed = Object.keys(recorded.keys);
  if (keyed.length !== n) problems.push(`keys lists ${keyed.length} peers, peers lists ${n}`);
  for (const peer of recorded.peers) {
    const key = recorded.keys[String(peer.id)];
    if (key !== peer.pubkey) problems.push(`keys.${peer.id} is ${key ?? 'missing'}, but peers.${peer.id}.pubkey is ${peer.pubkey}`);
  }
  if (recorded.threshold !== thresholdOf(n)) problems.push(`threshold is ${recorded.threshold}, but ${n} guardians need ${thresholdOf(n)}`);
  const computed = federationConsensusHash(recorded);
  if (computed !== recorded.consensusHash) {
    const named = configured !== undefined && configured.consensusHash === recorded.consensusHash ? differences(recorded, configured) : [];
    problems.push(
      `consensusHash ${recorded.consensusHash} is not the hash of the recorded fields (${computed})` +
        (named.length > 0 ? `; the recorded fields that differ from the config: ${named.join('; ')}` : ': a hashed field (keys, threshold, sessionSeconds, roundDelayMs, roundsPerSession, modules, certificate pins) was changed after it was recorded'),
    );
  }
  return problems;
}
