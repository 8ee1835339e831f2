import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGuardianProcess } from '../../src/cli/guardianProcess.ts';
import { initFederation } from '../../src/cli/initCommand.ts';
import { runLoad, submitModes } from '../../src/cli/loadGenerator.ts';
import { loadGuardianConfig } from '../../src/consensus/config.ts';
import { freePortPair } from '../e2e/spawnGuardian.ts';

describe('fedlog load against a guardian', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(submitModes)('deposits, claims, spends and withdraws over HTTP (%s submissions), and no double spend gets through', async (submitMode) => {
    const { p2p, api } = await freePortPair();
    const { configFiles, adminTokens } = initFederation({ peers: 1, out: join(dir, submitMode), sessionSeconds: 1, basePort: p2p });
    const loaded = loadGuardianConfig(configFiles[0]!);
    const lines: string[] = [];
    const running = await startGuardianProcess({ ...loaded, api: { ...loaded.api, port: api } }, { logLevel: 'silent', print: (line) => lines.push(line) });
    try {
      const report = await runLoad({ url: running.apiUrl, adminToken: adminTokens[0]!, rate: 0, durationSeconds: 2.5, chains: 8, doubleSpendRatio: 0.3, seed: 3, submitMode });
      expect(report.errors, report.firstError).toBe(0);
      expect(report.deposits).toBe(8);
      // Each user withdraws what it holds when stopped, besides the withdrawals while running.
      expect(report.withdrawals - report.withdrawalsWhileRunning).toBe(8);
      expect(report.accepted).toBeGreaterThan(16);
      expect(report.doubleSpendAttempts).toBeGreaterThan(0);
      expect(report.doubleSpendsAccepted).toBe(0);
      expect(report.doubleSpendsRefused).toBe(report.doubleSpendAttempts);
      expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    } finally {
      await running.stop();
    }
    // One human line per completed session.
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^session\s+0\s+items\s+[\d,]+\s+header [0-9a-f]{16}…/);
  });

  it('signs ahead before the clock starts, follows its chains, and signs on as it goes where a rival won or a chain ran out', async () => {
    const { p2p, api } = await freePortPair();
    const { configFiles, adminTokens } = initFederation({ peers: 1, out: join(dir, 'sign-ahead'), sessionSeconds: 1, basePort: p2p });
    const loaded = loadGuardianConfig(configFiles[0]!);
    const running = await startGuardianProcess({ ...loaded, api: { ...loaded.api, port: api } }, { logLevel: 'silent', print: () => undefined });
    try {
      // Few steps ahead and many double spends: the run outlives the signed chains and meets rivals.
      const report = await runLoad({ url: running.apiUrl, adminToken: adminTokens[0]!, rate: 0, durationSeconds: 2.5, chains: 8, doubleSpendRatio: 0.3, seed: 3, signAhead: 20 });
      expect(report.errors, report.firstError).toBe(0);
      // A claim and 20 steps per user, each step a spend, or (30% of them here) a spend, a rival and a replay.
      expect(report.signedAhead).toBeGreaterThan(8 * 21);
      expect(report.signedAhead).toBeLessThan(8 * 61);
      expect(report.signAheadSeconds).toBeGreaterThan(0);
      // Most chains were followed (a user leaves its chain only where a rival won).
      expect(report.signedAheadStepsUsed).toBeGreaterThan(8 * 10);
      expect(report.deposits).toBe(8);
      // Each user withdraws what it holds when stopped, besides the withdrawals while running.
      expect(report.withdrawals - report.withdrawalsWhileRunning).toBe(8);
      expect(report.accepted).toBeGreaterThan(8 * 21);
      expect(report.doubleSpendAttempts).toBeGreaterThan(0);
      expect(report.doubleSpendsAccepted).toBe(0);
      expect(report.doubleSpendsRefused).toBe(report.doubleSpendAttempts);
    } finally {
      await running.stop();
    }
  });
});
