/**
 * A guardian's configuration file (written by `fedlog init`, read by `fedlog run`): who this guardian
 * is, who the federation is, the consensus parameters, and where its data, API and log live. The
 * consensus part becomes the `FederationConfigured` event; its hash is what every later start (and,
 * from issue 5, every peer) must agree on.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { encodeFederationKeys, isSupportedFederationSize, threshold, type FederationKeys } from '../domain/federation.ts';
import { bytesToHex, hexToBytes, sha256 } from '../domain/hashing.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';
import type { FederationConfigured } from '../streams/events.ts';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of lowercase hex');
const port = z.number().int().min(1).max(65535);
const decimal = z.string().regex(/^(?:0|[1-9][0-9]*)$/, 'expected an unsigned decimal integer');

const peerSchema = z.strictObject({
  id: z.number().int().min(0).max(0xffff),
  pubkey: hex32,
  apiUrl: z.string().url(),
  p2pUrl: z.string().min(1).optional(),
});

export const guardianConfigSchema = z.strictObject({
  version: z.literal(1),
  /** This guardian's id in `federation.peers`. */
  peer: z.number().int().min(0).max(0xffff),
  /** BIP-340 secret key (32 bytes hex). Keep the file private (init writes it 0600). */
  secretKey: hex32,
  federation: z.strictObject({
    peers: z.array(peerSchema).min(1),
    sessionSeconds: z.number().positive().default(60),
    roundDelayMs: z.number().int().min(0).default(50),
    roundsPerSession: z.number().int().min(1).default(3600),
    modules: z
      .strictObject({
        wallet: z.strictObject({ withdrawFeeMsat: decimal.default('1000') }).default({ withdrawFeeMsat: '1000' }),
        mint: z.strictObject({}).default({}),
      })
      .default({ wallet: { withdrawFeeMsat: '1000' }, mint: {} }),
  }),
  /** Snapshots kept per projection (0 = none). Local policy: not part of the consensus hash. */
  checkpointRetention: z.number().int().min(0).default(3),
  /**
   * A completed session is checkpointed only once at least this many events were appended since the
   * newest checkpoint (0 = every session). Bounds a restart's catch-up without snapshotting the
   * whole state at every session. Local policy: not part of the consensus hash.
   */
  checkpointMinEvents: z.number().int().min(0).default(50_000),
  /** Relative paths are resolved against the config file's directory. */
  dataDir: z.string().min(1),
  api: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port,
    /**
     * The nice value of the thread that serves the API socket (src/api/apiFront.ts): lower runs
     * first, so on busy cores queries are answered without waiting behind the guardian's own work
     * (the front does little else). Like nginx's worker_priority. Raising priority needs
     * CAP_SYS_NICE or an RLIMIT_NICE allowance; without either the front runs at the process's
     * priority and the guardian says so at start. Local policy: not part of the consensus hash.
     */
    frontPriority: z.number().int().min(-20).max(19).default(-10),
  }),
  p2p: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port }),
  adminToken: z.string().min(16, 'adminToken must be at least 16 characters'),
  log: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1).optional() }),
    z.strictObject({ kind: z.literal('eventstoredb'), url: z.string().min(1) }),
  ]).default({ kind: 'sqlite' }),
  /** Most transactions waiting to be ordered; beyond it submissions get 503 + Retry-After. */
  queueCapacity: z.number().int().min(1).default(20_000),
});

export type GuardianConfig = z.output<typeof guardianConfigSchema>;
export type GuardianConfigInput = z.input<typeof guardianConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Fedimint's port pair: guardian i takes P2P on 8173 + 2i and the API on 8174 + 2i. */
export function defaultPorts(peer: number): { p2p: number; api: number } {
  return { p2p: 8173 + 2 * peer, api: 8174 + 2 * peer };
}

/** Parses and checks a config (any JSON/YAML value); `baseDir` anchors relative paths. */
export function parseGuardianConfig(raw: unknown, baseDir = process.cwd()): GuardianConfig {
  const parsed = guardianConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid guardian config: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const config = parsed.data;
  const n = config.federation.peers.length;
  // DESIGN.md: 2 or 3 guardians need more than one signature yet tolerate no faulty guardian.
  if (!isSupportedFederationSize(n)) {
    throw new ConfigError(`a federation of ${n} guardians is not supported: use n = 1, or n >= 4 (n = 2 or 3 tolerates no faulty guardian)`);
  }
  if (n >= 4) throw new ConfigError(`a federation of ${n} guardians was configured, but multi-guardian consensus is not wired to the engine yet`);
  const ids = config.federation.peers.map((p) => p.id).sort((a, b) => a - b);
  if (ids.some((id, i) => id !== i)) throw new ConfigError(`peer ids must be 0..${n - 1}, got ${ids.join(', ')}`);
  const self = config.federation.peers.find((p) => p.id === config.peer);
  if (self === undefined) throw new ConfigError(`peer ${config.peer} is not in the federation`);
  let publicKey: string;
  try {
    publicKey = bytesToHex(nobleBackend.publicKey(hexToBytes(config.secretKey)));
  } catch {
    throw new ConfigError('secretKey is not a valid secp256k1 secret key');
  }
  if (publicKey !== self.pubkey) throw new ConfigError(`secretKey does not belong to peer ${config.peer} (its public key is ${publicKey})`);
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(baseDir, config.dataDir);
  const log = config.log.kind === 'sqlite' && config.log.path !== undefined && !isAbsolute(config.log.path) ? { ...config.log, path: resolve(baseDir, config.log.path) } : config.log;
  return { ...config, dataDir, log };
}

/** Reads a JSON or YAML config file (YAML 1.2 is a superset of JSON). */
export function loadGuardianConfig(file: string): GuardianConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config ${file} is neither JSON nor YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseGuardianConfig(raw, dirname(resolve(file)));
}

/** Where the embedded SQLite log lives when the config does not say. */
export function sqliteLogPath(config: GuardianConfig): string {
  return config.log.kind === 'sqlite' ? (config.log.path ?? join(config.dataDir, 'log.sqlite')) : '';
}

export function federationKeys(config: GuardianConfig): FederationKeys {
  return new Map(config.federation.peers.map((p) => [p.id, hexToBytes(p.pubkey)]));
}

/**
 * The consensus configuration recorded as `FederationConfigured`. The hash covers what every
 * guardian must agree on to produce the same sessions: keys, threshold, session and round
 * parameters, module configs. API/P2P addresses and checkpoint retention are local and can change
 * between starts without forking the federation, so they are recorded but not hashed.
 */
export function consensusConfig(config: GuardianConfig): FederationConfigured {
  const keys = federationKeys(config);
  const keysHex: Record<string, string> = {};
  for (const [id, key] of keys) keysHex[String(id)] = bytesToHex(key);
  const hashed = {
    keys: keysHex,
    threshold: threshold(keys.size),
    sessionSeconds: config.federation.sessionSeconds,
    roundDelayMs: config.federation.roundDelayMs,
    roundsPerSession: config.federation.roundsPerSession,
    modules: config.federation.modules,
    // The encoded FederationKeys pin the key order exactly as the signature tag does.
    federationKeys: bytesToHex(encodeFederationKeys(keys)),
  };
  return {
    peers: config.federation.peers.map((p) => ({ id: p.id, pubkey: p.pubkey, apiUrl: p.apiUrl, ...(p.p2pUrl === undefined ? {} : { p2pUrl: p.p2pUrl }) })),
    threshold: hashed.threshold,
    sessionSeconds: hashed.sessionSeconds,
    roundDelayMs: hashed.roundDelayMs,
    roundsPerSession: hashed.roundsPerSession,
    modules: { wallet: { withdrawFeeMsat: config.federation.modules.wallet.withdrawFeeMsat }, mint: {} },
    checkpointRetention: config.checkpointRetention,
    keys: keysHex,
    consensusHash: bytesToHex(sha256(new TextEncoder().encode(canonicalJson(hashed)))),
  };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
