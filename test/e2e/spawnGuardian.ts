import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initFederation } from '../../src/cli/initCommand.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(repoRoot, 'src', 'cli', 'main.ts');

/** Two consecutive free ports (P2P, API), as Fedimint's pair. */
export async function freePortPair(): Promise<{ p2p: number; api: number }> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port > 1024 && port < 65535) return { p2p: port - 1, api: port };
  }
}

export interface GuardianSetup {
  dir: string;
  configFile: string;
  dataDir: string;
  adminToken: string;
  url: string;
}

export async function initGuardian(dir: string, sessionSeconds: number): Promise<GuardianSetup> {
  const { p2p, api } = await freePortPair();
  const result = initFederation({ peers: 1, out: dir, sessionSeconds, basePort: p2p });
  const configFile = result.configFiles[0]!;
  // initFederation keeps 8173/8174 for base 8173 only; pin the API port we found free.
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { api: { port: number }; federation: { peers: { apiUrl: string }[] } };
  config.api.port = api;
  config.federation.peers[0]!.apiUrl = `http://127.0.0.1:${api}`;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return { dir, configFile, dataDir: dirname(configFile), adminToken: result.adminTokens[0]!, url: `http://127.0.0.1:${api}` };
}

export interface RunningGuardian {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns `fedlog run --config` and resolves once its API answers. */
export async function runGuardian(setup: GuardianSetup): Promise<RunningGuardian> {
  // node --import tsx (not the tsx binary, which forks a second process): SIGKILL must hit the guardian itself.
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'run', '--config', setup.configFile, '--log-level', 'warn'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`guardian exited early (${child.exitCode}):\n${output}`);
    if (output.includes('serving http')) break;
    if (Date.now() > deadline) throw new Error(`guardian did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output, exited };
}

export async function http<T = Record<string, unknown>>(url: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as T };
}
