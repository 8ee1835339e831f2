/**
 * A guardian's configuration file (written by `fedlog init`, read by `fedlog run`): who this guardian
 * is, who the federation is, the consensus parameters, and where its data, API and log live. The
 * consensus part becomes the `FederationConfigured` event; its hash is what every later start (and,
 * from issue 5, every peer) must agree on.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isSupportedFederationSize, threshold, type FederationKeys } from '../domain/federation.ts';
import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';
import type { FederationConfigured } from '../streams/events.ts';
import { federationConsensusHash, type ConsensusFields } from '../streams/federationConfiguredCheck.ts';
import type { TransportPeer } from './transport/tlsTransport.ts';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of lowercase hex');
const port = z.number().int().min(1).max(65535);
const decimal = z.string().regex(/^(?:0|[1-9][0-9]*)$/, 'expected an unsigned decimal integer');
/** Written as `openssl x509 -fingerprint -sha256` prints it or as plain hex; kept as lowercase hex (as transport/certificates.ts compares). */
const fingerprint = z
  .string()
  .transform((text) => text.replace(/:/g, '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 fingerprint (64 hex digits, colons allowed)'));

const peerSchema = z.strictObject({
  id: z.number().int().min(0).max(0xffff),
  pubkey: hex32,
  apiUrl: z.string().url(),
  /** `host:port` (`[v6]:port` for IPv6) where this peer listens for P2P; required when n >= 4. */
  p2pUrl: z.string().min(1).optional(),
  /** sha256 of this peer's TLS certificate DER, pinned: the only certificate accepted as this peer (n >= 4). */
  certFingerprint: fingerprint.optional(),
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
  /**
   * K of the checkpoint retention rule (checkpointTiers.ts): the newest K snapshots of a projection,
   * and K of each older tier, about K * log2(checkpoints) in all (0 = no checkpoints). Local policy:
   * not part of the consensus hash.
   */
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
    /** A request whose headers are not all in after this long is answered 408 and closed (src/api/apiFront.ts). Local policy. */
    headersTimeoutMs: z.number().int().min(100).default(10_000),
    /** A request (headers and body; not the wait for its answer) not all in after this long is answered 408 and closed. Local policy. */
    requestTimeoutMs: z.number().int().min(100).default(30_000),
    /** Most connections open at once from one client address; more are answered 503 and closed. Local policy. */
    maxConnectionsPerClient: z.number().int().min(1).default(512),
  }),
  p2p: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port }),
  /** This guardian's TLS certificate and key (PEM) for its P2P links; required when n >= 4. Relative paths as dataDir. */
  tls: z.strictObject({ certPath: z.string().min(1), keyPath: z.string().min(1) }).optional(),
  adminToken: z.string().min(16, 'adminToken must be at least 16 characters'),
  log: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1).optional() }),
    z.strictObject({
      kind: z.literal('eventstoredb'),
      /** The node or cluster, e.g. `esdb://node1:2113,node2:2113,node3:2113?tls=false`. */
      url: z.string().regex(/^esdb(\+discover)?:\/\//, 'expected an esdb:// (or esdb+discover://) connection string'),
      /**
       * Prefix of every stream of this guardian's log (`fed-1a2b3c4d/guardian-0/`), so that the
       * guardians of a federation, and other federations, share one cluster without reading each
       * other's events. Ends with '/', so that no guardian's prefix starts another's. Absent: the
       * log owns the cluster's unprefixed streams.
       */
      streamPrefix: z.string().regex(/^[^$\s/][^\s]*\/$/, "expected a prefix ending with '/' (not starting with '$' or '/')").optional(),
    }),
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
  if (n >= 4) checkLinks(config);
  const anchored = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const dataDir = anchored(config.dataDir);
  const log = config.log.kind === 'sqlite' && config.log.path !== undefined ? { ...config.log, path: anchored(config.log.path) } : config.log;
  const tls = config.tls === undefined ? undefined : { certPath: anchored(config.tls.certPath), keyPath: anchored(config.tls.keyPath) };
  return { ...config, dataDir, log, ...(tls === undefined ? {} : { tls }) };
}

/** n >= 4: every member is reachable and pinned, and this guardian has a certificate to present. */
function checkLinks(config: GuardianConfig): void {
  const pins = new Map<string, number>();
  for (const peer of config.federation.peers) {
    if (peer.p2pUrl === undefined) throw new ConfigError(`peer ${peer.id} has no p2pUrl (host:port): every member of a federation of 4 or more must be reachable`);
    parseP2pUrl(peer.p2pUrl, peer.id);
    if (peer.certFingerprint === undefined) throw new ConfigError(`peer ${peer.id} has no certFingerprint: every member of a federation of 4 or more is pinned by its certificate`);
    // Two members with one certificate could not be told apart at the handshake.
    const other = pins.get(peer.certFingerprint);
    if (other !== undefined) throw new ConfigError(`peers ${other} and ${peer.id} pin the same certificate fingerprint`);
    pins.set(peer.certFingerprint, peer.id);
  }
  if (config.tls === undefined) throw new ConfigError(`guardian ${config.peer} has no tls { certPath, keyPath }: a federation of 4 or more talks over mutual TLS`);
}

/** `host:port`, or `[v6 address]:port`. */
export function parseP2pUrl(text: string, peer: number): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):([0-9]{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port < 1 || port > 65535) throw new ConfigError(`peer ${peer}: p2pUrl ${JSON.stringify(text)} is not host:port`);
  return { host: (match[1] ?? match[2])!, port };
}

/** What the P2P transport needs from a config (the rest of TransportOptions is tuning, not identity). */
export interface TransportIdentity {
  self: number;
  /** The other members, with where they listen and their pinned certificate. */
  peers: TransportPeer[];
  certPem: string;
  keyPem: string;
  listen: { host: string; port: number };
}

/**
 * Reads this guardian's certificate and key and lists the members to link to. Refuses a
 * certificate that is not the one the federation pinned for us: every peer would refuse it at
 * the handshake, and the guardian would sit unreachable with nothing in its own log saying why.
 */
export function transportIdentity(config: GuardianConfig): TransportIdentity {
  if (config.tls === undefined) throw new ConfigError(`guardian ${config.peer} has no tls { certPath, keyPath } in its config`);
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read the TLS ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const certPem = read('certificate', config.tls.certPath);
  const keyPem = read('key', config.tls.keyPath);
  let own: string;
  try {
    // What transport/certificates.ts's certificateFingerprint computes, without loading its X.509
    // builder (a few hundred ms) into every command that reads a config.
    own = createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
  } catch (error) {
    throw new ConfigError(`${config.tls.certPath} is not a PEM certificate: ${error instanceof Error ? error.message : String(error)}`);
  }
  const pinned = config.federation.peers.find((p) => p.id === config.peer)?.certFingerprint;
  if (pinned !== own) throw new ConfigError(`${config.tls.certPath} has fingerprint ${own}, but the federation pins ${pinned ?? 'none'} for guardian ${config.peer}`);
  const peers = config.federation.peers
    .filter((p) => p.id !== config.peer)
    .map((p) => {
      if (p.p2pUrl === undefined || p.certFingerprint === undefined) throw new ConfigError(`peer ${p.id} needs both p2pUrl and certFingerprint`);
      return { id: p.id, ...parseP2pUrl(p.p2pUrl, p.id), certFingerprint: p.certFingerprint };
    });
  return { self: config.peer, peers, certPem, keyPem, listen: { host: config.p2p.host, port: config.p2p.port } };
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
 * guardian must agree on to produce the same sessions: keys, certificate fingerprints (n >= 4),
 * threshold, session and round parameters, module configs. API/P2P addresses and checkpoint retention are local and can change
 * between starts without forking the federation, so they are recorded but not hashed.
 */
export function consensusConfig(config: GuardianConfig): FederationConfigured {
  const keys: Record<string, string> = {};
  for (const [id, key] of federationKeys(config)) keys[String(id)] = bytesToHex(key);
  const fields: ConsensusFields = {
    keys,
    peers: config.federation.peers.map((p) => ({
      id: p.id,
      pubkey: p.pubkey,
      apiUrl: p.apiUrl,
      ...(p.p2pUrl === undefined ? {} : { p2pUrl: p.p2pUrl }),
      ...(p.certFingerprint === undefined ? {} : { certFingerprint: p.certFingerprint }),
    })),
    threshold: threshold(Object.keys(keys).length),
    sessionSeconds: config.federation.sessionSeconds,
    roundDelayMs: config.federation.roundDelayMs,
    roundsPerSession: config.federation.roundsPerSession,
    modules: { wallet: { withdrawFeeMsat: config.federation.modules.wallet.withdrawFeeMsat }, mint: {} },
  };
  // One definition of the hash, the one start, replay and verify recompute from a recorded event.
  return { ...fields, checkpointRetention: config.checkpointRetention, consensusHash: federationConsensusHash(fields) };
}
