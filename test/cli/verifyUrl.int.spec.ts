import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuardianProcess } from '../../src/cli/guardianProcess.ts';
import { initFederation } from '../../src/cli/initCommand.ts';
import { runLoad } from '../../src/cli/loadGenerator.ts';
import { runVerify, type VerifyOptions } from '../../src/cli/verifyCommand.ts';
import { loadGuardianConfig } from '../../src/consensus/config.ts';
import { freePortPair, repoRoot } from '../e2e/spawnGuardian.ts';
import { tamper, editCompletion, writeDataDir } from './verifyFixture.ts';

async function verify(options: VerifyOptions) {
  const warnings: string[] = [];
  const result = await runVerify({ progress: false, workers: 1, print: () => {}, warn: (l) => warnings.push(l), ...options });
  return { ...result, warnings };
}

/** Forwards to `target`, answering 503 to the first request of every path: retries must absorb it. */
async function flakyProxy(target: string): Promise<{ url: string; failed: () => number; close: () => Promise<void> }> {
  const seen = new Set<string>();
  let failed = 0;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (!seen.has(path)) {
      seen.add(path);
      failed++;
      res.writeHead(503).end('try again');
      return;
    }
    fetch(target + path)
      .then(async (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text()))
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failed: () => failed,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('fedlog verify against a real guardian', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-verify-url-'));
  let running: Awaited<ReturnType<typeof startGuardianProcess>>;
  let dataDir: string;
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const { p2p, api } = await freePortPair();
    const { configFiles, adminTokens } = initFederation({ peers: 1, out: dir, sessionSeconds: 0.5, basePort: p2p });
    const loaded = loadGuardianConfig(configFiles[0]!);
    dataDir = join(dir, 'guardian-0');
    running = await startGuardianProcess({ ...loaded, api: { ...loaded.api, port: api } }, { logLevel: 'silent', print: () => {} });
    const load = await runLoad({ url: running.apiUrl, adminToken: adminTokens[0]!, rate: 0, durationSeconds: 1.5, chains: 8, doubleSpendRatio: 0.3, seed: 5 });
    expect(load.errors, load.firstError).toBe(0);
    // Let the sessions holding the last transactions complete.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { count } = (await (await fetch(`${running.apiUrl}/v1/sessions/count`)).json()) as { count: number };
      if (count >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 60_000);

  it('verifies every signed outcome over HTTP, and its balance sheets are the guardian audit history', async () => {
    const { exitCode, report, warnings } = await verify({ url: running.apiUrl });
    expect(exitCode).toBe(0);
    expect(report!.findings).toEqual([]);
    expect(report!.sessions.length).toBeGreaterThanOrEqual(3);
    expect(report!.sessions.reduce((sum, s) => sum + s.items, 0)).toBeGreaterThan(16);
    expect(report!.modules.origin).toBe('source');
    expect(warnings.join('\n')).not.toMatch(/withdraw fee/);
    expect(warnings.join('\n')).toMatch(/keys were taken from the source/);
    const last = report!.range.to!;
    const history = (await (await fetch(`${running.apiUrl}/v1/audit/history?from=0&to=${last}`)).json()) as { sheets: unknown[] };
    expect(history.sheets).toHaveLength(last + 1);
    expect(report!.sessions.map((s) => s.balanceSheet)).toEqual(history.sheets);
  });

  it('agrees with itself between --url and --data, and pinned keys saved from /v1/federation match', async () => {
    const keysFile = join(dir, 'federation.json');
    writeFileSync(keysFile, await (await fetch(`${running.apiUrl}/v1/federation`)).text());
    const overHttp = await verify({ url: running.apiUrl, keys: keysFile, to: 2 });
    const fromDisk = await verify({ data: dataDir, keys: keysFile, to: 2 });
    expect(overHttp.exitCode).toBe(0);
    expect(fromDisk.exitCode).toBe(0);
    expect(fromDisk.report!.modules.origin).toBe('source');
    expect(fromDisk.report!.sessions).toEqual(overHttp.report!.sessions);
    expect(overHttp.warnings.join('\n')).not.toMatch(/keys were taken/);
  });

  it('recomputes the consensus hash from the configuration the guardian publishes, and finds a configuration that does not match it', async () => {
    const honest = await verify({ url: running.apiUrl, to: 1 });
    expect(honest.report!.findings).toEqual([]);
    expect(honest.warnings.join('\n')).not.toMatch(/consensus configuration/);
    // A guardian (or a proxy) claiming a withdraw fee of 0 under the federation's real consensus hash.
    const server: Server = createServer((req, res) => {
      fetch(running.apiUrl + (req.url ?? '/'))
        .then(async (answer) => {
          const text = await answer.text();
          if (req.url !== '/v1/federation') return res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
          const federation = JSON.parse(text) as { configuration: { modules: { wallet: { withdrawFeeMsat: string } } } };
          federation.configuration.modules.wallet.withdrawFeeMsat = '0';
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(federation));
        })
        .catch(() => res.writeHead(502).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const tampered = await verify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, to: 1 });
      expect(tampered.exitCode).toBe(1);
      expect(tampered.report!.findings).toContainEqual({ kind: 'federation', detail: expect.stringMatching(/published configuration hashes to/) as string });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('retries 5xx answers with backoff and still verifies', async () => {
    const proxy = await flakyProxy(running.apiUrl);
    try {
      const { exitCode, report, warnings } = await verify({ url: proxy.url, to: 2, backoffMs: 10, concurrency: 2 });
      expect(exitCode).toBe(0);
      expect(report!.sessions).toHaveLength(3);
      // federation, count, three sessions: each failed once and was retried.
      expect(proxy.failed()).toBe(5);
      expect(warnings.filter((w) => /retrying GET .* \(attempt 1\): HTTP 503/.test(w))).toHaveLength(5);
    } finally {
      await proxy.close();
    }
  });

  it('gives up on a 4xx at once with a clear error, and on an unreachable guardian after its retries (exit 2)', async () => {
    const notFound = await verify({ url: `${running.apiUrl}/nope`, retries: 3, backoffMs: 10 });
    expect(notFound.exitCode).toBe(2);
    expect(notFound.error).toMatch(/GET .*\/nope\/v1\/federation: HTTP 404/);
    expect(notFound.warnings.some((w) => w.startsWith('retrying'))).toBe(false);
    const { p2p: unused } = await freePortPair();
    const down = await verify({ url: `http://127.0.0.1:${unused}`, retries: 2, backoffMs: 10 });
    expect(down.exitCode).toBe(2);
    expect(down.error).toMatch(/failed after 3 attempts/);
  });
});

describe('the fedlog verify command', () => {
  let fixture: Awaited<ReturnType<typeof writeDataDir>>;
  beforeAll(async () => {
    fixture = await writeDataDir(2, 20, 3);
  });
  afterAll(() => rmSync(fixture.dir, { recursive: true, force: true }));
  const fedlog = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'verify', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });

  it('exits 0 when everything verifies, 1 on a finding, 2 on a usage error', () => {
    const ok = fedlog('--data', fixture.dir, '--keys', fixture.keysFile);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/verify OK: sessions 0\.\.1/);
    expect(fedlog('--data', fixture.dir, '--frm', '1').status).toBe(2);
    expect(fedlog().status).toBe(2);
    tamper(fixture.dir, (db) => editCompletion(db, 1, (data) => (data.signatures = {})));
    const failed = fedlog('--data', fixture.dir, '--keys', fixture.keysFile);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/FINDING \[signatures\] session 1: 0 valid federation signatures/);
  }, 60_000);
});
