/**
 * `fedlog init`: fresh keys and one config file per guardian, in one directory per guardian
 * (`<out>/guardian-<i>/config.json`, data beside it). For n >= 4 also each guardian's TLS
 * certificate and key (`tls-cert.pem`, `tls-key.pem`), and every config pins every member's
 * certificate. Never overwrites: keys that already guard funds must not be replaced by accident.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { isSupportedFederationSize } from '../domain/federation.ts';
import { bytesToHex } from '../domain/hashing.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';
import { newSecretKey } from './secretKey.ts';
import { defaultPorts, type GuardianConfigInput } from '../consensus/config.ts';
import { makeGuardianCertificate, type GuardianCertificate } from '../consensus/transport/certificates.ts';

export interface InitOptions {
  peers: number;
  out: string;
  /**
   * Where guardian i is reached (its apiUrl and p2pUrl): one host for all, or one per guardian
   * (e.g. compose service names). Default 127.0.0.1.
   */
  host?: string | readonly string[];
  /** The address every guardian binds (default: its own host); 0.0.0.0 inside a container. */
  bind?: string;
  sessionSeconds?: number;
  roundDelayMs?: number;
  roundsPerSession?: number;
  checkpointRetention?: number;
  /** Events since the newest checkpoint before a completed session is checkpointed again (default 50,000; 0 = every session). */
  checkpointMinEvents?: number;
  /** Port of guardian 0's P2P listener; the API is on base + 1, guardian i on base + 2i (default 8173). */
  basePort?: number;
  /**
   * An EventStoreDB connection string (`esdb://...`): every guardian's log lives in that cluster,
   * under a stream prefix of its own (`fed-<first 8 hex of guardian 0's key>/guardian-<i>/`). Default: SQLite in each data directory.
   */
  log?: string;
  /** One per guardian, required when peers >= 4 (see makeFederationCertificates). */
  certificates?: readonly GuardianCertificate[];
}

export interface InitResult {
  configFiles: string[];
  adminTokens: string[];
}

export class InitError extends Error {
  override readonly name = 'InitError';
}

const CERT_FILE = 'tls-cert.pem';
const KEY_FILE = 'tls-key.pem';

/** The TLS identities of a federation of `peers` (none below 4: a single guardian has no links). */
export async function makeFederationCertificates(peers: number, host: string | readonly string[] = '127.0.0.1'): Promise<GuardianCertificate[]> {
  if (peers < 4) return [];
  const hosts = hostsOf(peers, host);
  // Pinning, not names, authenticates a peer; the names only help an operator reading the certificate.
  return Promise.all(hosts.map((h, i) => makeGuardianCertificate(i, isIP(h) === 0 ? { dnsNames: [h] } : { ipAddresses: [h] })));
}

export function initFederation(options: InitOptions): InitResult {
  const n = options.peers;
  if (!isSupportedFederationSize(n)) throw new InitError(`--peers ${n}: a federation has 1 guardian, or 4 or more (2 and 3 tolerate no faulty guardian)`);
  if (options.log !== undefined && !/^esdb(\+discover)?:\/\//.test(options.log)) throw new InitError(`--log ${options.log}: expected an esdb:// connection string`);
  const withTls = n >= 4;
  const certificates = options.certificates ?? [];
  if (withTls && certificates.length !== n) throw new InitError(`a federation of ${n} needs ${n} TLS certificates (makeFederationCertificates), got ${certificates.length}`);
  const out = resolve(options.out);
  const hosts = hostsOf(n, options.host ?? '127.0.0.1');
  const base = options.basePort ?? defaultPorts(0).p2p;
  const dirs = Array.from({ length: n }, (_, i) => join(out, `guardian-${i}`));
  const files = withTls ? ['config.json', CERT_FILE, KEY_FILE] : ['config.json'];
  const existing = dirs.flatMap((dir) => files.map((file) => join(dir, file))).filter((file) => existsSync(file));
  if (existing.length > 0) throw new InitError(`refusing to overwrite existing files: ${existing.join(', ')}`);

  const secrets = dirs.map(() => newSecretKey());
  const ports = dirs.map((_, i) => ({ p2p: base + 2 * i, api: base + 2 * i + 1 }));
  const peers = secrets.map((secret, i) => ({
    id: i,
    pubkey: bytesToHex(nobleBackend.publicKey(secret)),
    apiUrl: `http://${urlHost(hosts[i]!)}:${ports[i]!.api}`,
    p2pUrl: `${urlHost(hosts[i]!)}:${ports[i]!.p2p}`,
    ...(withTls ? { certFingerprint: certificates[i]!.fingerprint } : {}),
  }));
  // Guardian 0's fresh key names the federation, so two federations can share one cluster too.
  const federationTag = `fed-${peers[0]!.pubkey.slice(0, 8)}`;
  const logOf = (i: number): GuardianConfigInput['log'] =>
    options.log === undefined ? { kind: 'sqlite' } : { kind: 'eventstoredb', url: options.log, streamPrefix: `${federationTag}/guardian-${i}/` };
  const configFiles: string[] = [];
  const adminTokens: string[] = [];
  secrets.forEach((secret, i) => {
    const adminToken = randomBytes(24).toString('hex');
    const bind = options.bind ?? hosts[i]!;
    const config: GuardianConfigInput = {
      version: 1,
      peer: i,
      secretKey: bytesToHex(secret),
      federation: {
        peers,
        sessionSeconds: options.sessionSeconds ?? 60,
        roundDelayMs: options.roundDelayMs ?? 50,
        roundsPerSession: options.roundsPerSession ?? 3600,
        modules: { wallet: { withdrawFeeMsat: '1000' }, mint: {} },
      },
      checkpointRetention: options.checkpointRetention ?? 3,
      checkpointMinEvents: options.checkpointMinEvents ?? 50_000,
      dataDir: '.',
      api: { host: bind, port: ports[i]!.api },
      p2p: { host: bind, port: ports[i]!.p2p },
      ...(withTls ? { tls: { certPath: CERT_FILE, keyPath: KEY_FILE } } : {}),
      adminToken,
      log: logOf(i),
      queueCapacity: 20_000,
    };
    mkdirSync(dirs[i]!, { recursive: true });
    // 'wx' fails if a file appeared meanwhile; 0600 for the secrets (the config holds the secret key).
    if (withTls) {
      writeFileSync(join(dirs[i]!, CERT_FILE), certificates[i]!.certPem, { flag: 'wx', mode: 0o644 });
      writeFileSync(join(dirs[i]!, KEY_FILE), certificates[i]!.keyPem, { flag: 'wx', mode: 0o600 });
    }
    const file = join(dirs[i]!, 'config.json');
    writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
    configFiles.push(file);
    adminTokens.push(adminToken);
  });
  return { configFiles, adminTokens };
}

function hostsOf(n: number, host: string | readonly string[]): string[] {
  const hosts = typeof host === 'string' ? host.split(',').map((h) => h.trim()) : [...host];
  if (hosts.length === 1) return Array.from({ length: n }, () => hosts[0]!);
  if (hosts.length !== n || hosts.some((h) => h === '')) throw new InitError(`--host: give one host for all guardians or exactly ${n} (comma-separated), got ${hosts.length}`);
  return hosts;
}

/** IPv6 addresses are bracketed in URLs and in p2pUrl's host:port. */
function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
