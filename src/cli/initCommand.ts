/**
 * `fedlog init`: fresh keys and one config file per guardian, in one directory per guardian
 * (`<out>/guardian-<i>/config.json`, data beside it). Never overwrites: keys that already guard
 * funds must not be replaced by accident.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isSupportedFederationSize } from '../domain/federation.ts';
import { bytesToHex } from '../domain/hashing.ts';
import { nobleBackend } from '../domain/signatures/noble.ts';
import { newSecretKey } from './secretKey.ts';
import { defaultPorts, type GuardianConfigInput } from '../consensus/config.ts';

export interface InitOptions {
  peers: number;
  out: string;
  host?: string;
  sessionSeconds?: number;
  checkpointRetention?: number;
  /** Events since the newest checkpoint before a completed session is checkpointed again (default 50,000; 0 = every session). */
  checkpointMinEvents?: number;
  /** Port of guardian 0's P2P listener; the API is on base + 1, guardian i on base + 2i (default 8173). */
  basePort?: number;
}

export interface InitResult {
  configFiles: string[];
  adminTokens: string[];
}

export function initFederation(options: InitOptions): InitResult {
  const n = options.peers;
  if (!isSupportedFederationSize(n)) throw new Error(`--peers ${n}: a federation has 1 guardian, or 4 or more (2 and 3 tolerate no faulty guardian)`);
  const out = resolve(options.out);
  const host = options.host ?? '127.0.0.1';
  const base = options.basePort ?? 8173;
  const dirs = Array.from({ length: n }, (_, i) => join(out, `guardian-${i}`));
  const existing = dirs.map((dir) => join(dir, 'config.json')).filter((file) => existsSync(file));
  if (existing.length > 0) throw new Error(`refusing to overwrite existing config: ${existing.join(', ')}`);

  const secrets = dirs.map(() => newSecretKey());
  const ports = dirs.map((_, i) => {
    const fallback = defaultPorts(i);
    return { p2p: base === 8173 ? fallback.p2p : base + 2 * i, api: base === 8173 ? fallback.api : base + 2 * i + 1 };
  });
  const peers = secrets.map((secret, i) => ({
    id: i,
    pubkey: bytesToHex(nobleBackend.publicKey(secret)),
    apiUrl: `http://${host}:${ports[i]!.api}`,
    p2pUrl: `${host}:${ports[i]!.p2p}`,
  }));
  const configFiles: string[] = [];
  const adminTokens: string[] = [];
  secrets.forEach((secret, i) => {
    const adminToken = randomBytes(24).toString('hex');
    const config: GuardianConfigInput = {
      version: 1,
      peer: i,
      secretKey: bytesToHex(secret),
      federation: {
        peers,
        sessionSeconds: options.sessionSeconds ?? 60,
        roundDelayMs: 50,
        roundsPerSession: 3600,
        modules: { wallet: { withdrawFeeMsat: '1000' }, mint: {} },
      },
      checkpointRetention: options.checkpointRetention ?? 3,
      checkpointMinEvents: options.checkpointMinEvents ?? 50_000,
      dataDir: '.',
      api: { host, port: ports[i]!.api },
      p2p: { host, port: ports[i]!.p2p },
      adminToken,
      log: { kind: 'sqlite' },
      queueCapacity: 20_000,
    };
    mkdirSync(dirs[i]!, { recursive: true });
    const file = join(dirs[i]!, 'config.json');
    // 'wx' fails if the file appeared meanwhile; 0600 because it holds the secret key.
    writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
    configFiles.push(file);
    adminTokens.push(adminToken);
  });
  return { configFiles, adminTokens };
}
